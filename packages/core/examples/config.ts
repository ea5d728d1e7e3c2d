import { isSwitchyardError, resolveOptions, zDuration, zPort } from '@switchyard/core';
import * as z from 'zod';

// One schema validates code and config files alike: defaults, units, strict keys.
const schema = z.strictObject({
  port: zPort().default(8080),
  timeout: zDuration().default(30_000),
});

const options = resolveOptions(schema, { timeout: '2.5s' }, 'server');
console.log(options); // { port: 8080, timeout: 2500 } (deep-frozen)

try {
  resolveOptions(schema, { port: 70000, timout: '5s' }, 'server');
} catch (err) {
  if (isSwitchyardError(err, 'SY_CONFIG_INVALID')) {
    console.log(err.message);
    // invalid configuration:
    //   server.timout: unknown field (did you mean "timeout"?)
    //   server.port: Too big: expected number to be <=65535
  }
}

/**
 * The Lua scripts behind the Redis breaker state store: one script per store method, so each
 * call is atomic with respect to every replica, and each reads Redis's own clock (`TIME`) so
 * replicas whose clocks disagree still agree on open periods, time to live and leases.
 *
 * KEYS (all share the hash tag `{name}`, so they live in one Redis Cluster slot):
 *   1 state    hash: open (0/1), gen, trips, until (ms, Redis time), succ, seq (lease counter)
 *   2 replicas sorted set: replicaId scored by the time its report expires
 *   3 tripped  sorted set: the replicas whose last report said tripped, same scores
 *   4 leases   sorted set: "<seq>:<replicaId>" probe slots scored by their lease expiry
 * ARGV[1] key time to live (ms), ARGV[2] the channel transitions are published on; the rest
 * per script. Every script returns
 *   { stateCode (0 closed, 1 open, 2 half-open), generation, probeInMs, trips, tripped,
 *     replicas, probesInFlight, probeSuccesses, granted (0/1) }
 * and publishes the first eight, comma-separated, when the generation changed.
 *
 * The scripts read `TIME` before writing, which needs effects replication: the default since
 * Redis 5 and the only mode since 7. They do not call `redis.replicate_commands()`, a no-op
 * there that slows every call (see rate-limit-lua.ts).
 */

const prelude = `
local S, R, T, L = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local keyTtl = tonumber(ARGV[1])
local channel = ARGV[2]
local nowExcl = string.format('(%.0f', now)

local h = redis.call('HMGET', S, 'open', 'gen', 'trips', 'until', 'succ')
local st = {
  open = h[1] == '1',
  gen = tonumber(h[2]) or 0,
  trips = tonumber(h[3]) or 0,
  untilMs = tonumber(h[4]) or 0,
  succ = tonumber(h[5]) or 0,
}
local startGen = st.gen

-- Drops expired replicas, tripped reports and leases (scores are expiry times).
local function prune()
  local upTo = string.format('%.0f', now)
  redis.call('ZREMRANGEBYSCORE', R, '-inf', upTo)
  redis.call('ZREMRANGEBYSCORE', T, '-inf', upTo)
  redis.call('ZREMRANGEBYSCORE', L, '-inf', upTo)
end

local function halfOpen()
  return st.open and now >= st.untilMs
end

-- baseMs * factor^(trips - 1), capped at maxMs, whole milliseconds (as breakerOpenPeriodMs).
local function period(baseMs, factor, maxMs, trips)
  local ms = baseMs * math.pow(factor, math.max(0, trips - 1))
  if ms ~= ms or ms > maxMs then ms = maxMs end
  if ms < 0 then ms = 0 end
  return math.floor(ms)
end

local function openAt(baseMs, factor, maxMs)
  st.open = true
  st.gen = st.gen + 1
  st.trips = st.trips + 1
  st.untilMs = now + period(baseMs, factor, maxMs, st.trips)
  st.succ = 0
  redis.call('DEL', L)
end

local function closeAt()
  st.open = false
  st.gen = st.gen + 1
  st.trips = 0
  st.untilMs = 0
  st.succ = 0
  redis.call('DEL', L, T)
end

local function save()
  redis.call('HSET', S, 'open', st.open and '1' or '0', 'gen', string.format('%.0f', st.gen),
    'trips', string.format('%.0f', st.trips), 'until', string.format('%.0f', st.untilMs),
    'succ', string.format('%.0f', st.succ))
end

-- Every key outlives the longest thing it holds by keyTtl, so an abandoned breaker's keys go.
local function touch(extraMs)
  local ttl = keyTtl + math.max(0, extraMs)
  if st.open and st.untilMs > now then ttl = ttl + (st.untilMs - now) end
  ttl = string.format('%.0f', ttl)
  for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ttl) end
end

local function finish(granted)
  local code, probeIn = 0, 0
  if st.open then
    if halfOpen() then code = 2 else code = 1; probeIn = st.untilMs - now end
  end
  local snap = {
    code, st.gen, probeIn, st.trips,
    redis.call('ZCOUNT', T, nowExcl, '+inf'),
    redis.call('ZCOUNT', R, nowExcl, '+inf'),
    redis.call('ZCOUNT', L, nowExcl, '+inf'),
    st.succ,
  }
  if st.gen ~= startGen then
    local parts = {}
    for i, v in ipairs(snap) do parts[i] = string.format('%.0f', v) end
    redis.call('PUBLISH', channel, table.concat(parts, ','))
  end
  snap[9] = granted and 1 or 0
  return snap
end
`;

/** ARGV[3..10]: replicaId, tripped (0/1), ttlMs, quorum min, quorum ratio, baseMs, factor, maxMs. */
export const reportScript = `${prelude}
prune()
local replicaId, tripped, ttl = ARGV[3], ARGV[4] == '1', tonumber(ARGV[5])
if ttl > 0 then
  local expires = string.format('%.0f', now + ttl)
  redis.call('ZADD', R, expires, replicaId)
  if tripped then redis.call('ZADD', T, expires, replicaId) else redis.call('ZREM', T, replicaId) end
else
  redis.call('ZREM', R, replicaId)
  redis.call('ZREM', T, replicaId)
end
if not st.open then
  local live = redis.call('ZCARD', R)
  local count = redis.call('ZCARD', T)
  -- max(min, ceil(ratio * live)), capped at live, at least 1; the epsilon as in breakerQuorum.
  local quorum = math.max(tonumber(ARGV[6]), math.ceil(tonumber(ARGV[7]) * live - 1e-9))
  quorum = math.max(1, math.min(live, quorum))
  if count > 0 and count >= quorum then
    openAt(tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]))
    save()
  end
end
touch(ttl)
return finish(false)
`;

/** No ARGV beyond the common two; writes nothing (expired members are skipped, not removed). */
export const readScript = `${prelude}
return finish(false)
`;

/** ARGV[3..6]: replicaId, generation, maxProbes, leaseMs. */
export const acquireScript = `${prelude}
prune()
local granted = false
local leaseMs = tonumber(ARGV[6])
if halfOpen() and tonumber(ARGV[4]) == st.gen and redis.call('ZCARD', L) < tonumber(ARGV[5]) then
  local seq = redis.call('HINCRBY', S, 'seq', 1)
  redis.call('ZADD', L, string.format('%.0f', now + leaseMs), seq .. ':' .. ARGV[3])
  granted = true
end
touch(leaseMs)
return finish(granted)
`;

/** ARGV[3..9]: replicaId, generation, success (0/1), successesToClose, baseMs, factor, maxMs. */
export const completeScript = `${prelude}
prune()
if halfOpen() and tonumber(ARGV[4]) == st.gen then
  local replicaId = ARGV[3]
  local held = nil
  -- Ascending expiry: the replica's oldest slot goes first when it holds several.
  for _, member in ipairs(redis.call('ZRANGE', L, 0, -1)) do
    local sep = string.find(member, ':', 1, true)
    if sep and string.sub(member, sep + 1) == replicaId then
      held = member
      break
    end
  end
  -- No slot held: its lease expired and the fleet gave the probe up, so the outcome is late news.
  if held then
    redis.call('ZREM', L, held)
    if ARGV[5] == '1' then
      st.succ = st.succ + 1
      if st.succ >= tonumber(ARGV[6]) then closeAt() end
    else
      openAt(tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]))
    end
    save()
  end
end
touch(0)
return finish(false)
`;

/** No ARGV beyond the common two. */
export const resetScript = `${prelude}
prune()
closeAt()
save()
touch(0)
return finish(false)
`;

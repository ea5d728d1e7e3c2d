import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/** A running watch; `close()` stops it. */
export interface FileWatch {
  close(): void;
}

/**
 * Calls `onChange` once the files at `paths` have changed (debounced by `debounceMs`, as
 * editors and `cp` write in several steps) and every `intervalMs` regardless, since file-system
 * events are not reliable everywhere (network file systems, Kubernetes secret symlink swaps).
 * The directories are watched, not the files: a file replaced by a rename keeps being seen.
 *
 * @example
 * ```ts
 * const watch = watchFiles(['tls/api.crt', 'tls/api.key'], { intervalMs: 60_000 }, () => store.reload());
 * watch.close();
 * ```
 */
export function watchFiles(
  paths: readonly string[],
  options: { intervalMs: number; debounceMs?: number },
  onChange: () => void,
): FileWatch {
  const debounceMs = options.debounceMs ?? 200;
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    timer = undefined;
    onChange();
  };
  const schedule = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(fire, debounceMs);
    timer.unref();
  };
  const byDirectory = new Map<string, Set<string>>();
  for (const path of paths) {
    const dir = dirname(path);
    const names = byDirectory.get(dir) ?? new Set<string>();
    names.add(basename(path));
    byDirectory.set(dir, names);
  }
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of byDirectory) {
    try {
      const watcher = watch(dir, { persistent: false }, (_event, name) => {
        // Some platforms give no name; a `..data` symlink swap renames something else: reload then too.
        if (name === null || names.has(String(name)) || String(name).startsWith('..')) schedule();
      });
      watcher.on('error', () => watcher.close());
      watchers.push(watcher);
    } catch {
      // The periodic check below still picks up changes.
    }
  }
  const interval = options.intervalMs > 0 ? setInterval(onChange, options.intervalMs) : undefined;
  interval?.unref();
  return {
    close() {
      if (timer !== undefined) clearTimeout(timer);
      if (interval !== undefined) clearInterval(interval);
      for (const watcher of watchers) watcher.close();
    },
  };
}

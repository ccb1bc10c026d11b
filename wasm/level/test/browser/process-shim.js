// The little of Node's `process` that tape reads, for the browser bundle.
export const process = {
  env: {},
  argv: [],
  platform: 'browser',
  browser: true,
  cwd: () => '/',
  nextTick: (fn, ...args) => queueMicrotask(() => fn(...args))
}

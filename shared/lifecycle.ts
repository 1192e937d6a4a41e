/**
 * Process-wide shutdown hooks (Redis connections, metric servers), run once by the plugin server on SIGTERM
 * or by tests. Plugins register here; they never install their own signal handlers.
 */
type Hook = () => Promise<void> | void;
const hooks = new Set<Hook>();

export function onShutdown(hook: Hook): () => void {
  hooks.add(hook);
  return () => hooks.delete(hook);
}

export async function runShutdownHooks(): Promise<void> {
  const pending = [...hooks].map(async (hook) => {
    try {
      await hook();
    } catch {
      // a failing hook must not keep the others from running
    }
  });
  hooks.clear();
  await Promise.all(pending);
}

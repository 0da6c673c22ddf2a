// One connection pool per job. Requests for two jobs never travel over the same kept-alive
// socket, so a coordinator serving both cannot link a person's per-job identities by the
// connection they arrive on (the identities themselves share nothing: jobs/identity.ts).
import { Agent, fetch as poolFetch } from 'undici';

/** How long an idle socket of a job's pool stays open for the next request. */
const IDLE_SOCKET_MS = 10_000;

export class JobConnections {
  private readonly pools = new Map<string, { agent: Agent; fetch: typeof fetch }>();

  /** A fetch whose sockets belong to `jobId` alone. */
  fetchFor(jobId: string): typeof fetch {
    let pool = this.pools.get(jobId);
    if (!pool) {
      const agent = new Agent({ keepAliveTimeout: IDLE_SOCKET_MS, keepAliveMaxTimeout: IDLE_SOCKET_MS });
      // undici's fetch is the platform's fetch with a dispatcher; its types are its own.
      const jobFetch = ((input: string | URL, init?: RequestInit) => poolFetch(input, { ...(init as object), dispatcher: agent })) as unknown as typeof fetch;
      pool = { agent, fetch: jobFetch };
      this.pools.set(jobId, pool);
    }
    return pool.fetch;
  }

  /** Closes a job's sockets (the person left it, or it finished). */
  async close(jobId: string): Promise<void> {
    const pool = this.pools.get(jobId);
    this.pools.delete(jobId);
    await pool?.agent.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.pools.keys()].map((id) => this.close(id)));
  }
}

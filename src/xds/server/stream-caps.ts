/**
 * Counts open ADS streams per client connection (the peer `ip:port`, one per HTTP/2 connection) and
 * per verified identity, and refuses a stream beyond either cap. Each open stream holds one `StreamSlot`
 * whose release is idempotent.
 */

export interface StreamSlot {
  /** Counts the stream against `identity` too; false (and nothing counted) when that identity is at its cap. */
  claim(identity: string): boolean;
  release(): void;
}

export class StreamCaps {
  readonly #perConnection: number;
  readonly #perIdentity: number;
  readonly #connections = new Map<string, number>();
  readonly #identities = new Map<string, number>();

  constructor(perConnection: number, perIdentity: number) {
    this.#perConnection = Math.max(1, perConnection);
    this.#perIdentity = Math.max(1, perIdentity);
  }

  /** A slot on connection `peer`, or undefined when it already holds the maximum. */
  open(peer: string): StreamSlot | undefined {
    const n = this.#connections.get(peer) ?? 0;
    if (n >= this.#perConnection) return undefined;
    this.#connections.set(peer, n + 1);
    let identity: string | undefined;
    let released = false;
    return {
      claim: (id) => {
        if (released || identity !== undefined) return !released;
        const m = this.#identities.get(id) ?? 0;
        if (m >= this.#perIdentity) return false;
        this.#identities.set(id, m + 1);
        identity = id;
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        decrement(this.#connections, peer);
        if (identity !== undefined) decrement(this.#identities, identity);
      },
    };
  }

  streamsOn(peer: string): number {
    return this.#connections.get(peer) ?? 0;
  }

  streamsOf(identity: string): number {
    return this.#identities.get(identity) ?? 0;
  }
}

function decrement(m: Map<string, number>, key: string): void {
  const n = (m.get(key) ?? 0) - 1;
  if (n <= 0) m.delete(key);
  else m.set(key, n);
}

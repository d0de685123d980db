/** A long-lived answer (a watch, a keep-alive stream) that the server has to end itself when it stops. */
export interface OpenStream {
  /** Ends the stream, telling the client why when its protocol has a way to. */
  shutdown(reason: string): void;
}

/**
 * The streams open on a member's client listener. Their connections are out of Node's reach at
 * shutdown (a streaming request is taken off Node's list of requests in flight), so the server
 * ends them through this.
 */
export class OpenStreams {
  private readonly open = new Set<OpenStream>();

  /** Tracks s until the returned function is called (when it ends by itself). */
  add(s: OpenStream): () => void {
    this.open.add(s);
    return () => this.open.delete(s);
  }

  get size(): number {
    return this.open.size;
  }

  closeAll(reason = 'etcdserver: server stopped'): void {
    const all = [...this.open];
    this.open.clear();
    for (const s of all) s.shutdown(reason);
  }
}

/**
 * Outbox is the request side of the client stream: connect-node pulls frames
 * from it as HTTP/2 flow control allows, while the client pushes frames
 * without waiting, as Socket.IO's emit does. Frames go out in push order.
 */
export class Outbox<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private ended = false;

  /** Queues an item; false once the outbox has ended. */
  push(item: T): boolean {
    if (this.ended) {
      return false;
    }
    const wake = this.waiting;
    if (wake) {
      this.waiting = undefined;
      wake({ done: false, value: item });
    } else {
      this.items.push(item);
    }
    return true;
  }

  /** Ends the stream after what is queued: the server reads end of input. */
  end(): void {
    this.ended = true;
    if (this.items.length === 0) {
      this.finish();
    }
  }

  private finish(): void {
    const wake = this.waiting;
    this.waiting = undefined;
    wake?.({ done: true, value: undefined });
  }

  private drop(): Promise<IteratorResult<T>> {
    this.ended = true;
    this.items.length = 0;
    this.finish();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.items.shift();
        if (item !== undefined) {
          return Promise.resolve({ done: false, value: item });
        }
        if (this.ended) {
          return Promise.resolve({ done: true, value: undefined });
        }
        return new Promise((resolve) => {
          this.waiting = resolve;
        });
      },
      // The transport stops reading when the call ends (return) or fails
      // (throw, which connect-node requires of a request stream): what is
      // left can no longer be sent.
      return: () => this.drop(),
      throw: () => this.drop(),
    };
  }
}

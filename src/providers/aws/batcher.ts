/**
 * A tiny coalescing batcher: every `load(key)` made in the same turn of the event loop (or within
 * `windowMs`) is answered by one call of `run` with all the keys. This is how concurrent targets
 * in one account and region share one DescribeInstances / DescribeVolumes call.
 */
export interface BatcherOptions {
  /** Most keys in one call (EC2 filters take up to 200 values). */
  maxBatch: number;
  /** Extra wait before flushing, to gather stragglers. 0 = same event-loop turn only. */
  windowMs?: number;
}

/** Answers for a batch: a value, or an Error for that key alone. Missing keys get `missing(key)`. */
export type BatchRun<K, V> = (keys: K[]) => Promise<Map<K, V | Error>>;

export class CoalescingBatcher<K, V> {
  private queue: Array<{ key: K; resolve: (v: V) => void; reject: (e: unknown) => void }> = [];
  private scheduled = false;

  constructor(
    private readonly run: BatchRun<K, V>,
    private readonly missing: (key: K) => Error,
    private readonly options: BatcherOptions,
  ) {}

  load(key: K): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      this.queue.push({ key, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        const flush = () => void this.flush();
        if (this.options.windowMs) setTimeout(flush, this.options.windowMs);
        else setImmediate(flush);
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    const waiters = new Map<K, typeof queue>();
    for (const item of queue) {
      const list = waiters.get(item.key) ?? [];
      list.push(item);
      waiters.set(item.key, list);
    }
    const keys = [...waiters.keys()];
    for (let i = 0; i < keys.length; i += this.options.maxBatch) {
      const chunk = keys.slice(i, i + this.options.maxBatch);
      let results: Map<K, V | Error>;
      try {
        results = await this.run(chunk);
      } catch (error) {
        for (const key of chunk) for (const w of waiters.get(key) ?? []) w.reject(error);
        continue;
      }
      for (const key of chunk) {
        const result = results.has(key) ? results.get(key) : this.missing(key);
        for (const w of waiters.get(key) ?? []) {
          if (result instanceof Error) w.reject(result);
          else w.resolve(result as V);
        }
      }
    }
  }
}

import type { ResponseInfo } from './response.js';

/** A call's result together with the HTTP response it came from. */
export interface WithResponse<T> {
  data: T;
  response: ResponseInfo;
}

/**
 * What every SDK method returns: await it for the result, or call `withResponse()` to also get
 * the response's status, headers, rate limit and request id.
 */
export class APIPromise<T> implements PromiseLike<T> {
  readonly #inner: Promise<WithResponse<T>>;

  constructor(inner: Promise<WithResponse<T>>) {
    this.#inner = inner;
  }

  /** The result and its ResponseInfo (rate limit, request id, headers). */
  withResponse(): Promise<WithResponse<T>> {
    return this.#inner;
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#inner.then((r) => r.data).then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onfinally);
  }

  get [Symbol.toStringTag](): string {
    return 'APIPromise';
  }
}

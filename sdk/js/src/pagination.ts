import { APIPromise, type WithResponse } from './api-promise.js';
import { PuguhError } from './errors.js';
import type { ResponseInfo } from './response.js';

/** Query of a paginated list: `limit` 1 to 100 (server default 50), `cursor` from a previous page. */
export interface PageParams {
  limit?: number | undefined;
  cursor?: string | undefined;
}

/**
 * One page of a list. `items` holds this page; iterate the page itself (`for await`) to walk
 * every item from here to the last page, fetching pages as needed. Lists the server does not
 * paginate yet come back as a single page with `nextCursor` null, so code written today keeps
 * working when they are paginated.
 */
export class Page<T> implements AsyncIterable<T> {
  readonly items: T[];
  /** The server's next_cursor: null on the last page. Opaque; pass it back as `cursor`. */
  readonly nextCursor: string | null;
  readonly response: ResponseInfo;
  readonly #fetch: (cursor: string) => Promise<WithResponse<Page<T>>>;

  constructor(items: T[], nextCursor: string | null, response: ResponseInfo, fetch: (cursor: string) => Promise<WithResponse<Page<T>>>) {
    this.items = items;
    this.nextCursor = nextCursor;
    this.response = response;
    this.#fetch = fetch;
  }

  hasNextPage(): boolean {
    return this.nextCursor !== null;
  }

  /** The next page, or null after the last one. */
  async nextPage(): Promise<Page<T> | null> {
    if (this.nextCursor === null) return null;
    return (await this.#fetch(this.nextCursor)).data;
  }

  /** Every page from this one on. */
  async *pages(): AsyncGenerator<Page<T>, void, undefined> {
    const seen = new Set<string>();
    let page: Page<T> | null = this;
    while (page !== null) {
      yield page;
      if (page.nextCursor !== null) {
        // A cursor seen before would make this loop forever; the server never sends one.
        if (seen.has(page.nextCursor)) throw new PuguhError('the server repeated a pagination cursor');
        seen.add(page.nextCursor);
      }
      page = await page.nextPage();
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.pages()) yield* page.items;
  }
}

/** A list call: await it for the first Page, or `for await` over it for every item of every page. */
export class PagePromise<T> extends APIPromise<Page<T>> implements AsyncIterable<T> {
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    yield* await this;
  }
}

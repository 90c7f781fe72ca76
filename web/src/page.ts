import type { Api } from './api.js';
import type { LiveClient } from './live.js';
import type { Role } from './types.js';

export interface Who {
  name: string;
  role: Role;
}

/** What every page gets. */
export interface PageContext {
  api: Api;
  live: LiveClient;
  who: Who;
  /** whether the token's role may do this (buttons are shown only then) */
  can(perm: 'write' | 'admin'): boolean;
}

/** A mounted page; `dispose` drops its subscriptions and charts when the route changes. */
export interface Page {
  el: HTMLElement;
  dispose(): void;
}

export type PageFactory = (ctx: PageContext, params: string[], query: URLSearchParams) => Page;

/** Collects what a page must undo on leave. */
export class Disposer {
  private readonly fns: (() => void)[] = [];
  add(fn: () => void): void {
    this.fns.push(fn);
  }
  dispose(): void {
    for (const f of this.fns.splice(0).reverse()) f();
  }
}

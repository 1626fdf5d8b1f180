/** A page renders into `root` from the route's parameters and answers how to clean up. */
export type Page = (root: HTMLElement, params: URLSearchParams, path: string[]) => (() => void) | void;

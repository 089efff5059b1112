/**
 * The names and defaults of the group searches (src/specialists/group-search.ts), apart from
 * the search itself so that the command line can parse its flags without loading k-means.
 */

/** The group searches: `robust` (default) and `paper` (k-means on the covariance columns). */
export const GROUP_SEARCHES = ['robust', 'paper'] as const;
export type GroupSearch = (typeof GROUP_SEARCHES)[number];
export const DEFAULT_GROUP_SEARCH: GroupSearch = 'robust';
/** Default strength factor of the robust search (see the top of group-search.ts). */
export const DEFAULT_STRENGTH = 2;

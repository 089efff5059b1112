/** Where `dk paper` keeps the training runs an unfinished job has done (src/paper/cache.ts); light to import. */
export const CACHE_DIR = '.dk-paper-cache';

// The flags for node itself that a replica runs with: the image's ENTRYPOINT
// carries them (test/packaging/image-tree.test.ts keeps the Dockerfile in
// step with this list; a pod that replaces the image's command must pass them
// itself) and the benchmark starts its members with them. They size V8's
// heap for a long-running server whose live data is the key-value store: by
// default V8 lets the young generation grow to 2 × 64 MiB on a machine with
// many GiB of memory, which a member serving many clients fills with
// per-request garbage, so a busy member kept up to ~100 MiB of resident
// memory that held nothing (docs/benchmarks.md, Optimisations). It must never hold a flag
// that changes what the program computes, only how its memory is managed,
// and never cap the old generation (the store lives there: a cap would turn a
// large store into a crash).

/**
 * REPLICA_NODE_FLAGS are passed to node before the entry point.
 *
 * `--max-semi-space-size=16`: a semi-space of 16 MiB (young generation 32
 * MiB) keeps scavenges short and frequent; the request garbage of 64-256
 * clients dies young either way.
 *
 * `--heap-growing-percent=50`: after each full collection V8 lets the old
 * generation grow to 1.5 × what survived before the next one. By default V8
 * picks that factor itself, up to 4 × when collections look cheap, and a
 * leader under put-64 promotes ~1-2 MB of request garbage per scavenge
 * (`--trace-gc`): it ended put-64 with 341 MiB of heap committed around
 * 115 MiB of live objects (docs/benchmarks.md, Optimisations, item 16). The
 * price is more full collections over the whole store (marking is
 * concurrent; measured in the same item). It bounds growth relative to the
 * live data, never an absolute size, so a large store still fits.
 */
export const REPLICA_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16', '--heap-growing-percent=50'];

/**
 * REPLICA_NODE_ENV is the environment a replica's node process starts with
 * besides its own (the image sets it with ENV; the benchmark passes it to its
 * members; a variable already set by the caller wins, even empty).
 *
 * `GLIBC_TUNABLES=glibc.malloc.hugetlb=1`: glibc (2.35 and later) asks for
 * transparent huge pages (madvise) on the memory it maps for large
 * allocations, which is where Buffers of a MiB or more live. It was set for
 * the snapshot image, once a fresh buffer as large as the store: first
 * touching one page by page cost ~250 ms per 64 MiB, ~45 ms with huge pages
 * (docs/benchmarks.md, Optimisations, item 17). Since item 19 an own
 * snapshot is streamed through a 1 MiB buffer and no image is allocated;
 * the tunable stays for the large Buffers left (a snapshot installed from
 * the leader, read back for a follower, or restored at start), with no
 * growth of resident memory measured (item 17). It changes only how memory
 * is mapped: with THP off ("never") or an older or other libc it does nothing.
 */
export const REPLICA_NODE_ENV: Readonly<Record<string, string>> = { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' };

"""Evidence: content-addressed blobs, WARC captures, the observation hash chain, case bundles."""

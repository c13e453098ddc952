"""The download client beneath the datasets: resumable, md5-checked HTTP with retries and
rate limits (http), reading only the needed members of a remote zip by range requests
(remote_zip), and safe extraction (archive). Used by audioclf.datasets.fsdkaggle, which the
download_metadata and download_audio rules call."""

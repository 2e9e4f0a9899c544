"""Unit tests of loadgen/, a file per module: test_<wing>_<module>.py."""

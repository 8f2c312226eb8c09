"""The emergency safety net: the editors' lexicon, tolerant matching and a learned detector."""

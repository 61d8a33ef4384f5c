"""The scoring stage: model folders, classifiers, the Scorer and its engines (in-process, frames, Dask)."""

"""Thread Analyzer: local comment-thread toxicity and sentiment analysis."""

__version__ = "0.1.0"

"""The Streamlit dashboard: ``views/`` lay pages out; everything they compute lives in
plain modules beside them (``tree``, ``safe``, ``params``, ``timeline``, ``thresholds``,
``verdicts``), which import no Streamlit and are unit-tested on their own.

``app.py`` at the repository root is the entry point (``streamlit run app.py`` or
``analyzer demo``); ``resources`` holds the cached store, models and per-thread views.
"""

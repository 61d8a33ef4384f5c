"""Thread Analyzer dashboard. Run ``analyzer demo`` (bundled examples) or
``THREAD_ANALYZER_DB=store.db streamlit run app.py``. The pages live in
``analyzer/dashboard/views/``; this script only configures and routes."""

import streamlit as st

st.set_page_config(page_title="Thread Analyzer", layout="wide")

from analyzer.dashboard import nav  # noqa: E402  (set_page_config must come first)

nav.run()

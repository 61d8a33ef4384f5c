"""Page scripts of the dashboard (each runs its ``render()`` when Streamlit executes it)."""

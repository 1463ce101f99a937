"""The Streamlit dashboard: a thin shell over xray_core (run with ``streamlit run dashboard/app.py``)."""

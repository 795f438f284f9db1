import streamlit as st

st.title("sweep")

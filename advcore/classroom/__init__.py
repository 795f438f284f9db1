"""Classroom mode: rooms students join by code, a presented view they follow, challenges whose
answers the server re-checks, leaderboards, and a training queue; all state in one store
(``advcore.classroom.store``). No Streamlit here: the pages call these functions."""

"""AdvLab: see adversarial attacks happen. Entry point: navigation (advcore.ui.navigation) and the sidebar.

Start it with ``streamlit run app.py``. Streamlit finds ``app`` (an ``st.App``) below and serves
this file: every session runs it as ``__main__`` (the first branch). The ``st.App`` exists
for its start-up hook, ``advcore.ui.startup.lifespan``, which keeps a deep link opened by the
first visitor after a start from going to Streamlit's legacy ``pages/`` folder handling (the
module docstring says why and how), and for one route of its own: the followers' event stream
of a classroom (``advcore.ui.follow_stream``).
"""

import streamlit as st

if __name__ == "__main__":  # a session's script run
    from advcore.ui import navigation, sidebar

    st.set_page_config(page_title="AdvLab", page_icon=":material/target:", layout="wide")
    page = navigation.build()
    sidebar.show(page.url_path)
    page.run()
else:  # imported once by `streamlit run app.py` to serve the script above
    from advcore.ui import startup

    startup.prepare()  # first: a bad environment variable is one line on stderr, exit status 2 (advcore.settings)
    from advcore.ui import follow_stream

    app = st.App(__file__, lifespan=startup.lifespan, routes=follow_stream.routes())

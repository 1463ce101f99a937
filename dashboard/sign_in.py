"""Sign-in where it matters: open on this machine's loopback, a user name and password anywhere else.

Whether to ask is decided from the address the server listens on (``server.address``, which
``.streamlit/config.toml`` sets to 127.0.0.1), never from what a client says; ``XRAY_REQUIRE_SIGN_IN=1`` forces
it (tests, a proxy on the same machine), ``=0`` turns it off. Credentials: ``python -m xray_core users add NAME``
(:mod:`xray_core.inference.accounts`). A site with an identity provider can use Streamlit's OIDC ``st.login``
instead (``[auth]`` in secrets.toml). The signed-in name goes into every audit-log line.
"""

from __future__ import annotations

import streamlit as st

from dashboard import safe_text
from xray_core.inference.accounts import AccountError, SignInThrottle, sign_in_required, users_file

USER_KEY = "signed_in_user"  # session state: the signed-in name ('' while open on loopback)


@st.cache_resource
def _throttle() -> SignInThrottle:
    """One counter of wrong passwords for the whole server, so opening a new session does not reset it."""
    return SignInThrottle()


def required() -> bool:
    return sign_in_required(st.get_option("server.address"))


def _form() -> None:
    st.title("Sign in")
    st.caption("This dashboard is shared on a network: sign in with the account an administrator gave you.")
    with st.form("sign_in_form"):
        name = st.text_input("User name", key="sign_in_name")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    waiting = _throttle().seconds_locked(name.strip())
    if waiting > 0:
        st.error(f"Too many wrong passwords: try again in {waiting:.0f} s.", icon=":material/lock:")
        return
    try:
        accepted = _throttle().attempt(name.strip(), password)
    except AccountError as error:
        st.error(f"Sign-in is unavailable: {error}", icon=":material/error:")
        return
    if accepted:
        st.session_state[USER_KEY] = name.strip()
        st.rerun()
    st.error("Wrong user name or password.", icon=":material/lock:")


def gate() -> bool:
    """True when this session may use the app; otherwise draws the sign-in form (or why nobody can sign in)."""
    if not required():
        st.session_state.setdefault(USER_KEY, "")
        return True
    if st.session_state.get(USER_KEY):
        return True
    if not users_file().is_file():
        st.error(
            "Sign-in is required on this address, but no users are set up. An administrator creates them with "
            f"`python -m xray_core users add NAME` (credentials file `{users_file()}`, or set `XRAY_USERS`).",
            icon=":material/lock:",
        )
        return False
    _form()
    return False


def sidebar() -> None:
    """Who is signed in, and a way out (nothing when the app is open on loopback)."""
    user = st.session_state.get(USER_KEY)
    if not user:
        return
    with st.sidebar:
        st.caption(f":material/person: Signed in as **{safe_text.name(user)}**")
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            for key in list(st.session_state):
                del st.session_state[key]
            st.rerun()

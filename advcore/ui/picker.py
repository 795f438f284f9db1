"""Choosing the data set, model and image for the Explore page.

The image comes from the test set (by index, by class, at random, or among the
images the model gets right), from the drawing canvas, or from an upload; all
end as a ``Picked`` with a float32 (1, H, W, C) image, its label and a stable key
for caching.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import streamlit as st

from advcore import data, images
from advcore.i18n import N_, _, class_name

from . import canvas, resources
from .store import ResultStore

# The image sources: the radio's values (English, kept in the session), shown translated.
ONLY_RIGHT = N_("One it gets right")
SOURCES = (N_("Test image"), N_("By class"), N_("Random"), ONLY_RIGHT, N_("Draw"), N_("Upload"))
FROM_LINK = N_("From the link")
KINDS = {"Draw": N_("a drawing"), "Upload": N_("an upload")}  # kept images' descriptions (stored in English)
KEPT_IMAGES = 256  # drawn/uploaded images kept for links, per server process (least recently used go first)


@dataclass(frozen=True)
class Picked:
    x: np.ndarray
    label: int
    key: str  # cache key: "test:<index>" or "px:<sha1 of the pixels>"
    description: str
    index: int | None = None
    kept: str | None = None  # short id of a drawn/uploaded image kept on this server (for its link)


@st.cache_resource
def _kept_images() -> ResultStore:
    """Drawn and uploaded images by short id, so a link to them works while this server runs."""
    return ResultStore(KEPT_IMAGES)


def _link_image(dataset: str, names, kept_id: str) -> Picked | None:
    entry = _kept_images().get(kept_id)
    if entry is None or entry[0] != dataset:
        st.warning(_("The drawn or uploaded image of this link is no longer on this server (it keeps them only "
                     "while it runs); pick another image."))
        return None
    _dataset, x, label, description = entry
    description = _(description)  # stored in English: the store is shared by sessions in every language
    st.caption(_("{description} from the link, true class {true_class}", description=description,
                 true_class=names[label]))
    return Picked(x, label, f"px:{kept_id}", description, kept=kept_id)


def _pixels_key(x: np.ndarray) -> str:
    return "px:" + hashlib.sha1(np.ascontiguousarray(x).tobytes()).hexdigest()[:16]


def _from_test(split: data.Split, index: int, how: str) -> Picked:
    return Picked(split.x[index:index + 1], int(split.y[index]), f"test:{index}",
                  _("test image {index} ({how})", index=index, how=how), index)


def pick_image(dataset: str, model_id: str, url_index: int | None, source_where=None,
               detail_where=None, url_kept: str | None = None) -> Picked | None:
    """Widgets for the image source (a radio in ``source_where``) and the image itself (in
    ``detail_where``; both default to the current container); returns the picked image or None (with a
    message shown). ``url_kept``: a link's drawn/uploaded image id, offered as the source "From the link"."""
    source_where = source_where or st.container()
    wide = st.container()  # below the pickers' row: the canvas and the uploader need more than a picker column
    if url_kept and not st.session_state.get("kept_applied"):
        st.session_state.kept_applied = True
        st.session_state.kept_id = url_kept
        st.session_state.image_source = FROM_LINK
    with detail_where or st.container():
        return _pick(dataset, model_id, url_index, source_where, wide)


def _pick(dataset: str, model_id: str, url_index: int | None, source_where, wide) -> Picked | None:
    split = resources.test_split(dataset)
    names = [class_name(name) for name in split.class_names]
    n = len(split)
    if "image_index" not in st.session_state or st.session_state.get("image_dataset") != dataset:
        st.session_state.image_index = min(max(url_index or 0, 0), n - 1)
        st.session_state.image_dataset = dataset
    if url_index is not None and not 0 <= url_index < n:
        st.warning(_("The image in the link ({index}) is outside 0-{last}; showing {shown}.", index=url_index,
                     last=n - 1, shown=st.session_state.image_index))
    sources = SOURCES if data.info(dataset).shape[-1] == 1 else tuple(s for s in SOURCES if s != "Draw")
    if st.session_state.get("kept_id"):
        sources += (FROM_LINK,)
    source = source_where.radio(_("Image"), sources, key="image_source", horizontal=True, format_func=_,
                                help=_("a test image by its index, by class, at random, or among those the model "
                                       "classifies correctly; or draw or upload your own"))
    if source == FROM_LINK:
        return _link_image(dataset, names, st.session_state.kept_id)
    if source == "Test image":
        index = int(st.number_input(_("index (0-{last})", last=n - 1), 0, n - 1, key="image_index"))
        return _from_test(split, index, names[split.y[index]])
    if source == "By class":
        # keyed by data set: a new data set brings its own class list (never "8: ship" over a bag)
        cls = st.selectbox(_("class"), range(len(names)), format_func=lambda c: data.class_label(names, c),
                           key=f"image_class_{dataset}")
        members = np.flatnonzero(split.y == cls)
        k = int(st.number_input(_("which one (0-{last})", last=len(members) - 1), 0, len(members) - 1, 0,
                                key=f"image_class_k_{dataset}"))
        return _from_test(split, int(members[k]), names[cls])
    if source == "Random":
        if st.button(_("New random image"), key="image_random") or "image_random_index" not in st.session_state:
            st.session_state.image_random_index = int(np.random.default_rng().integers(n))
        index = min(st.session_state.image_random_index, n - 1)
        return _from_test(split, index, _("random"))
    if source == "One it gets right":
        correct = np.flatnonzero(resources.correct_mask(resources.model_key(model_id), dataset))
        if not len(correct):
            st.warning(_("This model gets no test image right."))
            return None
        k = int(st.number_input(_("which one (0-{last})", last=len(correct) - 1), 0, len(correct) - 1, 0,
                                key="image_correct_k"))
        return _from_test(split, int(correct[k]), _("correctly classified"))
    with wide:
        return _from_user(dataset, model_id, names, source)


def _from_user(dataset: str, model_id: str, names, source: str) -> Picked | None:
    """A drawn or uploaded image: the canvas or uploader on the left, its true class on the right."""
    shape = data.info(dataset).shape
    left, right = st.columns([1, 2], gap="medium")
    if source == "Draw":
        right.caption(_("Draw with the mouse (or a finger); the drawing is centred like MNIST digits."))
    with left:
        x = _user_pixels(source, shape, right)
    if x is None:
        return None
    key = _pixels_key(x)
    guess = int(np.argmax(resources.model(resources.model_key(model_id))(x, training=False)[0]))
    label = right.selectbox(_("What is it? (the true class; starts at the model's guess)"), range(len(names)),
                            index=guess, format_func=lambda c: data.class_label(names, c), key=f"user_label_{key}")
    _kept_images().put(key[3:15], (dataset, x, int(label), KINDS[source]))
    st.session_state.kept_applied = True  # kept=... in the URL is now this session's own, not a link to open
    yours = _("your drawing") if source == "Draw" else _("your upload")
    return Picked(x, int(label), key, yours, kept=key[3:15])


def _user_pixels(source: str, shape: tuple[int, int, int], notes) -> np.ndarray | None:
    """The drawn or uploaded image as a model input of ``shape``, or None (with a message in ``notes``)."""
    try:
        if source == "Draw":
            pixels = canvas.draw("draw_canvas", shape[0])
            if pixels is None:
                notes.info(_("Draw something on the canvas to attack it."))
                return None
            return images.from_drawing(pixels, shape)
        upload = st.file_uploader(_("PNG or JPEG"), type=["png", "jpg", "jpeg"], key="image_upload")
        if upload is None:
            notes.info(_("Upload an image; it is converted to the data set's size and colours."))
            return None
        return images.from_bytes(upload.getvalue(), shape, invert_light_background=shape[-1] == 1)
    except images.ImageError as exc:
        notes.error(_("This image cannot be used: {error}.", error=exc))
        return None

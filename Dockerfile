# AdvLab dashboard for a classroom server.
#   docker build -t advlab .
#   docker run -p 8501:8501 advlab
# GPU variant (NVIDIA, needs the container toolkit):
#   docker build --build-arg TF_PACKAGE="tensorflow[and-cuda]>=2.16,<2.21" -t advlab:gpu .
#   docker run --gpus all -p 8501:8501 advlab:gpu
ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim

ARG TF_PACKAGE=""
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    ADVCORE_USER_MODELS=/home/advlab/user-models \
    ADVCORE_CHECKPOINTS=/home/advlab/checkpoints \
    ADVLAB_STATE_DIR=/home/advlab/state

# A CJK font for Chinese text (docs/i18n.md): the charts' font stack names "Noto Sans CJK SC"; Debian's
# package (unpinned: its version follows the base image's release, hence the DL3008 exception).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*

# The folders volumes mount over (deploy/compose.yaml) exist and belong to the app's user, so a new
# named volume starts writable by it.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin advlab \
 && install -d -o advlab -g advlab /home/advlab/user-models /home/advlab/state
WORKDIR /app

# Dependencies first: this layer is cached until requirements.txt changes. (TF_PACKAGE is the
# GPU variant's pinned range, given as a build argument, hence the DL3013 exception.)
COPY requirements.txt .
# hadolint ignore=DL3013
RUN pip install --no-cache-dir -r requirements.txt \
 && if [ -n "$TF_PACKAGE" ]; then pip uninstall -y tensorflow-cpu && pip install --no-cache-dir "$TF_PACKAGE"; fi

COPY .streamlit/ .streamlit/
COPY advcore/ advcore/
COPY pages/ pages/
COPY app.py ./
COPY models/ models/

USER 10001
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status != 200)"]
CMD ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0"]

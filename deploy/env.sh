# Sourced by deploy/build and deploy/check: puts the pinned deployment tools (deploy/requirements.txt)
# into the git-ignored virtual environment .venv/deploy, once, and onto PATH.
#
# It installs again only when deploy/requirements.txt changes (its hash is kept in the venv).
# Needs python3 with venv and pip, and PyPI.

deploy_venv="${DEPLOY_VENV:-.venv/deploy}"

deploy_tools() {
  local requirements=deploy/requirements.txt stamp="$deploy_venv/.requirements.sha256" want
  want=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [[ ! -x "$deploy_venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    echo "==> installing the deployment tools into $deploy_venv (pinned by $requirements)"
    python3 -m venv "$deploy_venv"
    "$deploy_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      --no-input -r "$requirements"
    echo "$want" >"$stamp"
  fi
  # cargo-lambda finds zig as `python3 -m ziglang`, so the venv's python must come first.
  local bin
  bin=$(cd "$deploy_venv/bin" && pwd)
  PATH="$bin:$PATH"
  export PATH
}

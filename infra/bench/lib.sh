# Shared by the infra/bench/*.sh scripts (source it).

# ensure_debian_packages PACKAGE...: installs the Debian packages that are not installed yet (with sudo when
# not root), saying which. Baselines run on what these install (PyTorch, FAISS and numpy need
# libopenblas0-pthread, or they fall back to the reference BLAS and every ratio against them is meaningless).
ensure_debian_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "[bench] installing: ${missing[*]}"
  local sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# median: the median of the numbers on standard input, one a line (the mean of the middle two when even).
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

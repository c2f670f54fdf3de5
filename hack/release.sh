#!/usr/bin/env bash
# make release: builds the step images with ko, pushes them, and writes the Artifact Hub
# catalog (Tekton git-based versioning, TEP-0115) from the sources in tasks/:
#
#   catalog/<kind>/<name>/<name>.yaml   images as <repo>/<binary>:v<version>@sha256:...,
#                                       label app.kubernetes.io/version: "<version>"
#   catalog/<kind>/<name>/README.md, samples/, tests/ and any other file of the source,
#                                       their ko:// images resolved the same way
#   catalog/<kind>/artifacthub-repo.yml from hack/release/artifacthub-repo-<kind>.yml
#   catalog/<kind>/.gitignore           the files that pin images, which only the
#                                       release commit (tagged v<version>) holds
#
# for <kind> task and pipeline. catalog/task and catalog/pipeline are replaced as a whole,
# only when everything succeeded. The Argo Workflows templates (tasks/argo/<package>.yaml,
# one WorkflowTemplate or ClusterWorkflowTemplate a file) go where Artifact Hub's kind
# argo-template looks, one directory per version:
#
#   catalog/argo/<package>/<version>/manifests.yaml     the template, images pinned, label set
#   catalog/argo/<package>/<version>/artifacthub-pkg.yml Artifact Hub's package metadata, from
#                                       the template's workflows.argoproj.io annotations,
#                                       the images and the changelog
#   catalog/argo/<package>/<version>/README.md           tasks/argo/README.md
#   catalog/argo/artifacthub-repo.yml   from hack/release/artifacthub-repo-argo.yml
#
# Artifact Hub reads an Argo templates repository from its branch, not from tags: the main
# branch keeps every released version directory (a release adds its own, replacing only a
# directory of the same version). A release also writes
#
#   $RELEASE_DIR/release.yaml            everything a cluster runs, for one kubectl apply:
#                                       config/ (namespace build-watcher, the watcher's and
#                                       the runs' ServiceAccounts and RBAC, ConfigMap,
#                                       Deployment, Service) and the Tasks and the Pipeline
#                                       in that namespace; images pinned, version labels set
#
# It prints one "<package> <image>" line per image.
#
# Usage: hack/release.sh <version>       version x.y.z or vx.y.z, optionally -prerelease
#        hack/release.sh --docs-only     all but the files that pin images (no ko, no
#                                        registry): what the main branch holds
#
# Environment:
#   KO_DOCKER_REPO       where images go (default ghcr.io/thoth-station/build-watcher)
#   KO_DEFAULTBASEIMAGE  base image, overriding ko.yaml's defaultBaseImage (read by ko)
#   PLATFORMS            ko --platform, e.g. linux/amd64 (default ko.yaml's defaultPlatforms)
#   CATALOG_DIR          output directory (default catalog/ of the repository)
#   TASKS_DIR            source directory (default tasks/ of the repository)
#   RELEASE_DIR          where release.yaml goes (default dist/ of the repository)
#   KO                   the ko binary (default ko from PATH, else $(go env GOPATH)/bin/ko)
#   CHANGELOG            the changelog (default CHANGELOG.md of the repository): its section
#                        "## <version>" (for a prerelease, else "## <x.y.z>") becomes each
#                        resource's artifacthub.io/changes (and each template's changes)
#   MAINTAINERS          the maintainers (default hack/release/maintainers.yml): a YAML list
#                        of name and email, each resource's artifacthub.io/maintainers (and
#                        each template's maintainers)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
module=github.com/thoth-station/build-watcher
kinds=(task pipeline)

die() {
  echo "release: $*" >&2
  exit 1
}
log() { echo "release: $*" >&2; }

docs_only=false
version=""
for arg in "$@"; do
  case "$arg" in
    --docs-only) docs_only=true ;;
    -h | --help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
      exit 0
      ;;
    -*) die "unknown option $arg; usage: hack/release.sh <version> | --docs-only" ;;
    *)
      [ -z "$version" ] || die "one version only, got $version and $arg"
      version=$arg
      ;;
  esac
done

if $docs_only; then
  [ -z "$version" ] || die "--docs-only takes no version (it writes no image references)"
else
  [ -n "$version" ] || die "no version given: run make release VERSION=x.y.z (or hack/release.sh x.y.z)"
  # Semantic version without build metadata ('+' is not allowed in image tags or label values).
  semver='^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$'
  if ! [[ "$version" =~ $semver ]]; then
    case "$version" in
      *+*) die "version $version has build metadata (+...): image tags and labels cannot hold '+'; use x.y.z or x.y.z-prerelease" ;;
      *) die "version $version is not a semantic version: use x.y.z or x.y.z-prerelease, e.g. 0.9.0 or v0.9.1-rc.1" ;;
    esac
  fi
  # The repository's v0.7.0 and v0.8.0 are the Python bot's, without a catalog; Artifact Hub
  # is told to ignore every 0.0-0.8 version (hack/release/artifacthub-repo-*.yml).
  if [ "${BASH_REMATCH[1]}" = 0 ] && [ "${BASH_REMATCH[2]}" -lt 9 ]; then
    die "version $version is below 0.9.0: v0.7.0 and v0.8.0 are the Python bot's, and Artifact Hub ignores 0.0 to 0.8; releases start at 0.9.0"
  fi
  label=${version#v} # app.kubernetes.io/version, the version Artifact Hub shows
  tag=v$label        # git tag, image tag and the binaries' --version
  [ "${#label}" -le 63 ] || die "version $label is longer than 63 characters, the limit of a label value"

  # The release's changes, from the changelog: Artifact Hub shows them on each package's page.
  changelog=${CHANGELOG:-$root/CHANGELOG.md}
  [ -f "$changelog" ] || die "$changelog does not exist: keep a changelog with a section \"## $label\" per release"
  changes=""
  for section in "$label" "${label%%-*}"; do
    changes=$(awk -v v="## $section" '$0 == v {on = 1; next} /^## / {on = 0} on && /^- / {print}' "$changelog")
    [ -z "$changes" ] || break
  done
  if [ -z "$changes" ]; then
    sections="\"## $label\""
    [ "$label" = "${label%%-*}" ] || sections+=" or \"## ${label%%-*}\""
    die "$changelog has no section $sections with entries \"- <kind>: <what changed>\": add this release's changes"
  fi
  # artifacthub.io/changes as Artifact Hub parses it: a YAML list of kind and description
  # (and the same list as artifacthub-pkg.yml's changes, for the Argo templates).
  changes_yaml=""
  pkg_changes_yaml=""
  while IFS= read -r line; do
    entry=${line#- }
    kind=${entry%%:*}
    desc=${entry#*:}
    desc=${desc# }
    case "$kind" in
      added | changed | deprecated | removed | fixed | security) ;;
      *) die "$changelog, section $label: \"$line\" does not start with a kind (added, changed, deprecated, removed, fixed or security) and a colon" ;;
    esac
    [ -n "$desc" ] && [ "$desc" != "$entry" ] || die "$changelog, section $label: \"$line\" has no description after \"$kind:\""
    changes_yaml+="      - kind: $kind"$'\n'"        description: '${desc//\'/\'\'}'"$'\n'
    pkg_changes_yaml+="  - kind: $kind"$'\n'"    description: '${desc//\'/\'\'}'"$'\n'
  done <<<"$changes"

  # The maintainers Artifact Hub shows on every package (artifacthub.io/maintainers, and
  # artifacthub-pkg.yml's maintainers for the Argo templates): a name and an email each, or
  # Artifact Hub drops them all. The awk separates name and email by a unit separator: read
  # takes a tab for whitespace and would shift an empty name's email into it.
  maintainers_file=${MAINTAINERS:-$root/hack/release/maintainers.yml}
  [ -f "$maintainers_file" ] || die "$maintainers_file does not exist: list the packages' maintainers there, each \"- name: <name>\" and \"  email: <email>\""
  maintainers_yaml=""
  pkg_maintainers_yaml=""
  while IFS=$'\037' read -r mname memail; do
    case "$mname" in
      '!'*) die "$maintainers_file, line ${mname#!}: not \"- name: <name>\" or \"  email: <email>\" (one maintainer a list item)" ;;
    esac
    [ -n "$mname" ] || die "$maintainers_file: a maintainer with the email \"$memail\" has no name: give it one (\"- name: <name>\"); Artifact Hub drops maintainers without both"
    [[ "$memail" =~ ^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$ ]] ||
      die "$maintainers_file: maintainer \"$mname\" has no email address (\"$memail\"): give it one (\"  email: <email>\"); Artifact Hub drops maintainers without both"
    maintainers_yaml+="      - name: '${mname//\'/\'\'}'"$'\n'"        email: '${memail//\'/\'\'}'"$'\n'
    pkg_maintainers_yaml+="  - name: '${mname//\'/\'\'}'"$'\n'"    email: '${memail//\'/\'\'}'"$'\n'
  done < <(awk '
    function unquote(v) {
      sub(/[[:space:]]+$/, "", v)
      if (v ~ /^".*"$/ || v ~ /^\047.*\047$/) v = substr(v, 2, length(v) - 2)
      return v
    }
    function flush() { if (open) print name "\037" email; name = ""; email = "" }
    /^[[:space:]]*(#|$)/ { next }
    {
      line = $0
      if (sub(/^- /, "  ", line)) { flush(); open = 1 }
      if (open && match(line, /^  name:[[:space:]]*/)) name = unquote(substr(line, RLENGTH + 1))
      else if (open && match(line, /^  email:[[:space:]]*/)) email = unquote(substr(line, RLENGTH + 1))
      else { print "!" NR; bad = 1; exit }
    }
    END { if (!bad) flush() }' "$maintainers_file")
  [ -n "$maintainers_yaml" ] || die "$maintainers_file lists no maintainer: Artifact Hub shows each package's maintainers, a name and an email each"
fi

tasks_dir=${TASKS_DIR:-$root/tasks}
out=${CATALOG_DIR:-$root/catalog}
[ -d "$tasks_dir" ] || die "no sources: $tasks_dir does not exist (set TASKS_DIR)"

# Sources: tasks/<kind>/<name>/<name>.yaml with its README.md.
resources=() # "<kind>/<name>"
for kind in "${kinds[@]}"; do
  [ -d "$tasks_dir/$kind" ] || continue
  for dir in "$tasks_dir/$kind"/*/; do
    [ -d "$dir" ] || continue
    name=$(basename "$dir")
    src="$dir$name.yaml"
    [ -f "$src" ] || die "$dir has no $name.yaml: each resource directory holds <name>.yaml"
    [ -f "$dir/README.md" ] || die "$dir has no README.md: Artifact Hub shows it as the resource's page"
    grep -Eq '^[[:space:]]+app\.kubernetes\.io/version:' "$src" ||
      die "$src has no app.kubernetes.io/version label: add it under metadata.labels (the release sets its value)"
    resources+=("$kind/$name")
  done
done
[ "${#resources[@]}" -gt 0 ] || die "no resources under $tasks_dir/{task,pipeline}/<name>/<name>.yaml"

# annotation FILE KEY: the value of the metadata annotation KEY of the template in FILE (a
# plain or quoted scalar, or a folded block whose lines are joined with spaces).
annotation() {
  awk -v key="    $2:" '
    block {
      if ($0 ~ /^      /) { sub(/^ +/, ""); value = value (value == "" ? "" : " ") $0; next }
      exit
    }
    index($0, key) == 1 {
      value = substr($0, length(key) + 1)
      sub(/^ +/, "", value)
      if (value ~ /^>-?$/) { block = 1; value = ""; next }
      if (value ~ /^".*"$/ || value ~ /^\047.*\047$/) value = substr(value, 2, length(value) - 2)
      exit
    }
    END { print value }' "$1"
}

# Argo Workflows templates: tasks/argo/<package>.yaml, one template a file, beside one
# README.md that serves as every template's page.
argo_dir="$tasks_dir/argo"
argo_pkgs=()
if [ -d "$argo_dir" ]; then
  for src in "$argo_dir"/*.yaml; do
    [ -f "$src" ] || continue
    pkg=$(basename "$src" .yaml)
    [[ "$pkg" =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$ ]] ||
      die "$src: the package name is the file's name, and $pkg is not lower-case letters, digits and dashes"
    grep -Eq '^kind: (WorkflowTemplate|ClusterWorkflowTemplate)$' "$src" ||
      die "$src is not a WorkflowTemplate or ClusterWorkflowTemplate: tasks/argo holds one template a file"
    grep -Eq '^    app\.kubernetes\.io/version:' "$src" ||
      die "$src has no app.kubernetes.io/version label: add it under metadata.labels (the release sets its value)"
    [ -n "$(annotation "$src" workflows.argoproj.io/description)" ] ||
      die "$src has no workflows.argoproj.io/description annotation: Artifact Hub requires a description"
    argo_pkgs+=("$pkg")
  done
  if [ "${#argo_pkgs[@]}" -gt 0 ]; then
    [ -f "$argo_dir/README.md" ] || die "$argo_dir has no README.md: Artifact Hub shows it as each template's page"
    [ -f "$root/hack/release/artifacthub-repo-argo.yml" ] ||
      die "$root/hack/release/artifacthub-repo-argo.yml is missing: it is the Artifact Hub repository metadata of catalog/argo"
  fi
fi

mkdir -p "$out"
stage=$(mktemp -d "$out/.release.XXXXXX")
trap 'rm -rf "$stage"' EXIT

for kind in "${kinds[@]}"; do
  meta="$root/hack/release/artifacthub-repo-$kind.yml"
  [ -f "$meta" ] || die "$meta is missing: it is the Artifact Hub repository metadata of catalog/$kind"
done
# The watcher's manifests, in config/kustomization.yaml's order: release.yaml's first part.
config_files=()
if ! $docs_only; then
  mapfile -t config_files < <(sed -n 's/^  - \([A-Za-z0-9._-]*\.yaml\)$/\1/p' "$root/config/kustomization.yaml")
  [ "${#config_files[@]}" -gt 0 ] || die "config/kustomization.yaml lists no resources: release.yaml would hold no watcher"
  mkdir -p "$stage/release"
  for f in "${config_files[@]}"; do
    [ -f "$root/config/$f" ] || die "config/kustomization.yaml lists $f, which config/ does not hold"
    cp "$root/config/$f" "$stage/release/$f"
  done
fi
for r in "${resources[@]}"; do
  kind=${r%%/*}
  name=${r#*/}
  mkdir -p "$stage/$kind/$name"
  cp -R "$tasks_dir/$kind/$name/." "$stage/$kind/$name/"
  if [ ! -f "$stage/$kind/artifacthub-repo.yml" ]; then
    cp "$root/hack/release/artifacthub-repo-$kind.yml" "$stage/$kind/artifacthub-repo.yml"
  fi
done

if [ "${#argo_pkgs[@]}" -gt 0 ]; then
  mkdir -p "$stage/argo"
  cp "$root/hack/release/artifacthub-repo-argo.yml" "$stage/argo/artifacthub-repo.yml"
  if ! $docs_only; then
    for pkg in "${argo_pkgs[@]}"; do
      mkdir -p "$stage/argo/$pkg/$label"
      cp "$argo_dir/$pkg.yaml" "$stage/argo/$pkg/$label/manifests.yaml"
      cp "$argo_dir/README.md" "$stage/argo/$pkg/$label/README.md"
    done
  fi
fi

# Release-only files pin released images: each <name>.yaml, and any other file whose source
# names a ko:// image (the stand-ins of tests/). Only the release commit holds them; each
# kind's .gitignore names them so that the main branch does not.
declare -A release_only=() # "<kind>/<rel>"
for r in "${resources[@]}"; do
  kind=${r%%/*}
  name=${r#*/}
  release_only["$kind/$name/$name.yaml"]=1
  while IFS= read -r f; do
    release_only["$kind/${f#"$stage/$kind/"}"]=1
  done < <(grep -rlF 'ko://' "$stage/$kind/$name" || true)
done
for kind in "${kinds[@]}"; do
  [ -d "$stage/$kind" ] || continue
  {
    echo "# Written by hack/release.sh: these files pin the images of a release. make release"
    echo "# writes them, the commit tagged vX.Y.Z holds them (git add -f), the main branch does not."
    for key in "${!release_only[@]}"; do
      if [ "${key%%/*}" = "$kind" ]; then echo "/${key#*/}"; fi
    done | LC_ALL=C sort
  } >"$stage/$kind/.gitignore"
done

if $docs_only; then
  for key in "${!release_only[@]}"; do
    rm "$stage/$key"
    # Keep what an earlier make release wrote: this mode does not write it.
    if [ -f "$out/$key" ]; then
      cp "$out/$key" "$stage/$key"
    fi
  done
else
  ko=${KO:-}
  if [ -z "$ko" ]; then
    ko=$(command -v ko || true)
    [ -n "$ko" ] || ko="$(go env GOPATH)/bin/ko"
  fi
  [ -x "$ko" ] || die "ko not found at $ko: run make tools (or set KO=/path/to/ko)"
  export KO_DOCKER_REPO=${KO_DOCKER_REPO:-ghcr.io/thoth-station/build-watcher}
  # ko looks for .ko.yaml; ours is ko.yaml (ldflags stamping the version, base image, platforms).
  export KO_CONFIG_PATH=${KO_CONFIG_PATH:-$root/ko.yaml}
  platform_flags=()
  [ -z "${PLATFORMS:-}" ] || platform_flags=(--platform "$PLATFORMS")

  # Every distinct ko:// reference, built once: ko resolves a list of them, and the list's
  # order maps each reference to its image. The files themselves are only edited on the
  # image lines, so their comments and layout stay as written.
  mapfile -t refs < <(grep -rhoE 'ko://[A-Za-z0-9._~/-]+' "$stage" --include='*.yaml' --include='*.yml' | sort -u)
  [ "${#refs[@]}" -gt 0 ] || die "no ko:// image references in $tasks_dir: nothing to build"
  for ref in "${refs[@]}"; do
    case "$ref" in
      "ko://$module/"?*) ;;
      *) die "$ref is not a package of this module: images are ko://$module/<path>" ;;
    esac
    [ -d "$root/${ref#"ko://$module/"}" ] || die "$ref: there is no ${ref#"ko://$module/"} in this repository"
  done
  printf -- '- %s\n' "${refs[@]}" >"$stage/refs.yaml"

  if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    log "warning: the working tree has uncommitted changes; the images are built from them"
  fi
  # Images carry the commit's time (reproducible: same commit, same digests) and labels
  # naming their source (GitHub's registry links the package to the repository by it).
  labels="org.opencontainers.image.source=https://$module,org.opencontainers.image.version=$tag"
  if commit=$(git -C "$root" rev-parse HEAD 2>/dev/null); then
    labels+=",org.opencontainers.image.revision=$commit"
    if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
      SOURCE_DATE_EPOCH=$(git -C "$root" log -1 --format=%ct)
      export SOURCE_DATE_EPOCH
    fi
  fi
  log "building ${#refs[@]} images for ${PLATFORMS:-the defaultPlatforms of ko.yaml} with $("$ko" version) as $KO_DOCKER_REPO/<binary>:$tag"
  began=$SECONDS
  # VERSION is what ko.yaml's ldflags stamp into the binaries (--version).
  (cd "$root" && VERSION=$tag "$ko" resolve --base-import-paths --tags "$tag" \
    --image-label "$labels" "${platform_flags[@]}" -f "$stage/refs.yaml") >"$stage/resolved.yaml" ||
    die "ko resolve failed (see above); check KO_DOCKER_REPO ($KO_DOCKER_REPO) is writable and the base image reachable"
  log "built and pushed in $((SECONDS - began)) s"

  mapfile -t images < <(sed -n 's/^- //p' "$stage/resolved.yaml")
  [ "${#images[@]}" -eq "${#refs[@]}" ] ||
    die "ko resolved ${#refs[@]} references into ${#images[@]} images: $(tr '\n' ' ' <"$stage/resolved.yaml")"
  digest_re='^[^ @]+:'"${tag//./\\.}"'@sha256:[0-9a-f]{64}$'
  for i in "${!refs[@]}"; do
    ref=${refs[$i]}
    image=${images[$i]}
    [[ "$image" =~ $digest_re ]] || die "ko gave $image for $ref, not <repo>:$tag@sha256:<digest>"
    case "$image" in
      "$KO_DOCKER_REPO/"*) ;;
      *) die "ko gave $image for $ref, outside KO_DOCKER_REPO $KO_DOCKER_REPO" ;;
    esac
    # Replace the reference where it ends (quote, space, end of line), never as a prefix.
    path_re=$(printf '%s' "${ref#ko://}" | sed 's/[.]/\\./g')
    find "$stage" \( -name '*.yaml' -o -name '*.yml' \) ! -name refs.yaml ! -name resolved.yaml -print0 |
      xargs -0 sed -E -i "s#ko://${path_re}([^A-Za-z0-9._~/-]|\$)#${image}\\1#g"
  done
  rm "$stage/refs.yaml" "$stage/resolved.yaml"

  if left=$(grep -rlF 'ko://' "$stage"); then
    die "ko:// references left in $(echo "$left" | sed "s|^$stage/||" | tr '\n' ' ')"
  fi
  for r in "${resources[@]}"; do
    kind=${r%%/*}
    name=${r#*/}
    f="$stage/$kind/$name/$name.yaml"
    sed -E -i "s/^([[:space:]]+app\\.kubernetes\\.io\\/version:).*\$/\\1 \"$label\"/" "$f"
    # The changes and the maintainers go first under metadata.annotations (two-space indent,
    # as tasks/ writes it).
    grep -qE '^  annotations:$' "$f" || die "$kind/$name/$name.yaml has no metadata.annotations: add them (Artifact Hub reads its metadata there)"
    CHANGES=$changes_yaml MAINTAINERS_YAML=$maintainers_yaml awk '!done && $0 == "  annotations:" {print; printf "    artifacthub.io/changes: |\n%s    artifacthub.io/maintainers: |\n%s", ENVIRON["CHANGES"], ENVIRON["MAINTAINERS_YAML"]; done = 1; next} {print}' "$f" >"$f.new"
    mv "$f.new" "$f"
    # Every image is pinned by digest, whoever wrote it; $(params...) images are the user's.
    while read -r line; do
      # shellcheck disable=SC2016 # a literal $( marks an image chosen by a param
      case "$line" in
        *'$('*) ;;
        *@sha256:*) ;;
        *) die "$kind/$name/$name.yaml: $line is not pinned by digest" ;;
      esac
    done < <(grep -E '^[[:space:]]*(- )?image:' "$f" || true)
  done

  # The Argo templates: the version label, every image pinned, and Artifact Hub's package
  # metadata beside each (its required fields: version, name, displayName, createdAt as
  # RFC 3339, description; the rest as the Tekton resources carry them).
  created=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%dT%H:%M:%SZ)
  quote() { printf "'%s'" "${1//\'/\'\'}"; }
  for pkg in "${argo_pkgs[@]}"; do
    d="$stage/argo/$pkg/$label"
    f="$d/manifests.yaml"
    sed -E -i "s/^([[:space:]]+app\\.kubernetes\\.io\\/version:).*\$/\\1 \"$label\"/" "$f"
    declare -A seen=()
    containers_yaml=""
    while read -r line; do
      case "$line" in
        *'{{'*) continue ;; # an image chosen by a parameter is the user's
        *@sha256:*) ;;
        *) die "argo/$pkg/$label/manifests.yaml: $line is not pinned by digest" ;;
      esac
      image=${line#*image:}
      image=${image//[\"\' ]/}
      if [ -z "${seen[$image]:-}" ]; then
        seen[$image]=1
        bin=${image%%@*}
        bin=${bin##*/}
        containers_yaml+="  - name: ${bin%%:*}"$'\n'"    image: $image"$'\n'
      fi
    done < <(grep -E '^[[:space:]]*(- )?image:' "$f" || true)
    unset seen
    template_kind=$(sed -n 's/^kind: //p' "$f")
    template_name=$(awk '/^metadata:/ {on = 1; next} /^[^ ]/ {on = 0} on && /^  name: / {print $2; exit}' "$f")
    display=${template_name//-/ }
    display="${display^} ($template_kind)"
    install_ns=" -n <namespace>"
    [ "$template_kind" = WorkflowTemplate ] || install_ns=""
    maintainer=$(annotation "$f" workflows.argoproj.io/maintainer)
    argo_version=$(annotation "$f" workflows.argoproj.io/version)
    {
      echo "# Artifact Hub's metadata of the Argo template $pkg $label (kind argo-template): written by make release."
      echo "version: $label"
      echo "name: $pkg"
      echo "displayName: $(quote "$display")"
      echo "createdAt: \"$created\""
      echo "description: $(quote "$(annotation "$f" workflows.argoproj.io/description)")"
      echo "license: Apache-2.0"
      echo "homeURL: https://$module"
      [ "$label" = "${label%%-*}" ] || echo "prerelease: true"
      echo "keywords:"
      IFS=, read -ra tags <<<"$(annotation "$f" workflows.argoproj.io/tags),argo-workflows"
      declare -A seen=()
      for k in "${tags[@]}"; do
        k=${k// /}
        [ -n "$k" ] && [ -z "${seen[$k]:-}" ] || continue
        seen[$k]=1
        echo "  - $(quote "$k")"
      done
      unset seen
      echo "links:"
      echo "  - name: source"
      echo "    url: https://$module/tree/$tag/tasks/argo"
      echo "  - name: documentation"
      echo "    url: https://$module/blob/$tag/tasks/argo/README.md"
      [ -z "$maintainer" ] || printf 'provider:\n  name: %s\n' "$(quote "$maintainer")"
      printf 'maintainers:\n%s' "$pkg_maintainers_yaml"
      [ -z "$containers_yaml" ] || printf 'containersImages:\n%s' "$containers_yaml"
      printf 'changes:\n%s' "$pkg_changes_yaml"
      [ -z "$argo_version" ] || printf 'annotations:\n  argo/version: %s\n' "$(quote "$argo_version")"
      echo "install: |"
      echo "  Apply the $template_kind; its Workflows' ServiceAccount must read builds and their logs (see the README)."
      echo ""
      echo "  \`\`\`sh"
      echo "  kubectl apply$install_ns -f https://raw.githubusercontent.com/${module#github.com/}/main/catalog/argo/$pkg/$label/manifests.yaml"
      echo "  \`\`\`"
    } >"$d/artifacthub-pkg.yml"
  done
fi

if ! $docs_only; then
  # release.yaml: config/ with the version label on every object, then each Task and the
  # Pipeline in the namespace the watcher's runs go to.
  namespace=$(sed -n 's/^  THOTH_PIPELINERUN_NAMESPACE: "\(.*\)"$/\1/p' "$stage/release/300-config.yaml")
  [ -n "$namespace" ] || die "config/300-config.yaml sets no THOTH_PIPELINERUN_NAMESPACE: release.yaml would not know where the Tasks go"
  {
    echo "# build-watcher $tag: kubectl apply -f release.yaml (namespace $namespace). Written by make release."
    for f in "${config_files[@]}"; do
      grep -qE '^  labels:$' "$stage/release/$f" || die "config/$f: an object has no metadata.labels: release.yaml labels every object with its version"
      echo "---"
      echo "# config/$f"
      awk -v label="$label" '{print} $0 == "  labels:" {printf "    app.kubernetes.io/version: \"%s\"\n", label}' "$stage/release/$f"
    done
    for r in "${resources[@]}"; do
      kind=${r%%/*}
      name=${r#*/}
      echo "---"
      echo "# catalog/$kind/$name/$name.yaml"
      awk -v ns="$namespace" '{print} !done && $0 == "metadata:" {print "  namespace: " ns; done = 1}' "$stage/$kind/$name/$name.yaml"
    done
  } >"$stage/release.yaml"
  # Every image of the watcher is pinned by digest too.
  while read -r line; do
    case "$line" in
      *@sha256:*) ;;
      *) die "release.yaml: $line is not pinned by digest" ;;
    esac
  done < <(grep -E '^[[:space:]]*(- )?image:' "$stage/release.yaml" | grep -vF '$(')
fi

for kind in "${kinds[@]}"; do
  rm -rf "${out:?}/$kind"
  if [ -d "$stage/$kind" ]; then
    mv "$stage/$kind" "$out/$kind"
  fi
done
# catalog/argo keeps the versions of earlier releases: only this version's directories go.
if [ -d "$stage/argo" ]; then
  mkdir -p "$out/argo"
  mv "$stage/argo/artifacthub-repo.yml" "$out/argo/artifacthub-repo.yml"
  if ! $docs_only; then
    for pkg in "${argo_pkgs[@]}"; do
      mkdir -p "$out/argo/$pkg"
      [ ! -d "$out/argo/$pkg/$label" ] || log "replacing catalog/argo/$pkg/$label, written by an earlier make release"
      rm -rf "${out:?}/argo/$pkg/$label"
      mv "$stage/argo/$pkg/$label" "$out/argo/$pkg/$label"
    done
  fi
fi

if $docs_only; then
  log "wrote ${#resources[@]} resources (READMEs, samples, tests, artifacthub-repo.yml) and catalog/argo's artifacthub-repo.yml into $out"
else
  release_dir=${RELEASE_DIR:-$root/dist}
  mkdir -p "$release_dir"
  mv "$stage/release.yaml" "$release_dir/release.yaml"
  log "wrote ${#resources[@]} resources and ${#argo_pkgs[@]} Argo templates of version $label into $out, and $release_dir/release.yaml"
  for i in "${!refs[@]}"; do
    echo "${refs[$i]#ko://$module/} ${images[$i]}"
  done
fi

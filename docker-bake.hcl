# edgebench images. With buildx: `docker buildx bake [target]`. Without buildx (this build machine, engine 20.10),
# `make images [TARGET=...]` runs images/build.py, which reads this same file and runs one classic
# `docker build --platform` per target and platform. One target per images/<target>/ folder (tests/test_bake.py).
#
# Each image is two targets: `<target>-stack` builds images/<target>/Dockerfile, the device's runtime stack and
# nothing of edgebench; `<target>` puts the one edgebench layer (images/edgebench/Dockerfile: user, bench/, selfcheck,
# entrypoint) on top of it through the named context `runtime-stack`. A change to bench/ rebuilds only that layer.

variable "REGISTRY" {
  default = "edgebench"
}

variable "VERSION" {
  default = "0.1.0"
}

# Public base images a user would pull. `make images` on an air-gapped machine swaps in the local debootstrap
# bases from `make base-images` (edgebench-base:<suite>-<arch>).
variable "BOOKWORM_BASE" {
  default = "debian:bookworm-slim"
}

variable "BULLSEYE_BASE" {
  default = "debian:bullseye-slim"
}

variable "L4T_BASE" {
  default = "nvcr.io/nvidia/l4t-base:r32.7.1"
}

# JetPack 6 (L4T r36): l4t-jetpack carries CUDA, cuDNN and TensorRT 10 itself (images/jetson-orin/README.md).
variable "L4T_JETPACK6_BASE" {
  default = "nvcr.io/nvidia/l4t-jetpack:r36.4.0"
}

# torch CPU wheels come from PyTorch's CPU index (PyPI's linux torch 2.13.0 wheels are CUDA builds).
variable "TORCH_PIP_ARGS" {
  default = "--index-url https://download.pytorch.org/whl/cpu"
}

variable "WITH_TORCH" {
  default = "1"
}

# Vendor repositories (Coral apt, ARM NN releases): on by default for users, off on machines without them.
variable "WITH_EDGETPU" {
  default = "1"
}

variable "EDGETPU_RUNTIME" {
  default = "std"
}

variable "WITH_ARMNN_DELEGATE" {
  default = "1"
}

group "default" {
  targets = ["host", "rpi", "rpi-armnn", "rpi-coral", "jetson-nano", "jetson-orin"]
}

target "_common" {
  context = "."
  labels = {
    "org.opencontainers.image.source"  = "https://github.com/edgebench/edgebench"
    "org.opencontainers.image.version" = "${VERSION}"
  }
}

# ---- runtime stacks (images/<target>/Dockerfile) ----

target "host-stack" {
  inherits   = ["_common"]
  dockerfile = "images/host/Dockerfile"
  platforms  = ["linux/amd64", "linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-host-stack:${VERSION}"]
  args = {
    BASE_IMAGE     = "${BOOKWORM_BASE}"
    WITH_TORCH     = "${WITH_TORCH}"
    TORCH_PIP_ARGS = "${TORCH_PIP_ARGS}"
  }
}

target "rpi-stack" {
  inherits   = ["_common"]
  dockerfile = "images/rpi/Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-rpi-stack:${VERSION}"]
  args = {
    BASE_IMAGE     = "${BOOKWORM_BASE}"
    WITH_TORCH     = "${WITH_TORCH}"
    TORCH_PIP_ARGS = "${TORCH_PIP_ARGS}"
  }
}

# On top of the rpi stack: buildx resolves `FROM rpi-stack` through the named context; images/build.py substitutes
# the rpi-stack image it built for the same platform.
target "rpi-armnn-stack" {
  inherits   = ["_common"]
  dockerfile = "images/rpi-armnn/Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-rpi-armnn-stack:${VERSION}"]
  contexts = {
    rpi-stack = "target:rpi-stack"
  }
  args = {
    BASE_IMAGE          = "rpi-stack"
    WITH_ARMNN_DELEGATE = "${WITH_ARMNN_DELEGATE}"
  }
}

target "rpi-coral-stack" {
  inherits   = ["_common"]
  dockerfile = "images/rpi-coral/Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-rpi-coral-stack:${VERSION}"]
  args = {
    BASE_IMAGE      = "${BULLSEYE_BASE}"
    WITH_EDGETPU    = "${WITH_EDGETPU}"
    EDGETPU_RUNTIME = "${EDGETPU_RUNTIME}"
  }
}

# images/build.py builds the jetson-* targets with the classic builder (DOCKER_BUILDKIT=0) and leaves them out of
# `buildx bake`, also where buildx exists: BuildKit ignores the nvidia default runtime in RUN steps, so CUDA/TensorRT
# and the GPU driver would be missing there. Build them ON the Jetson ("default-runtime": "nvidia").
target "jetson-nano-stack" {
  inherits   = ["_common"]
  dockerfile = "images/jetson-nano/Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-jetson-nano-stack:${VERSION}"]
  args = {
    BASE_IMAGE = "${L4T_BASE}"
  }
}

target "jetson-orin-stack" {
  inherits   = ["_common"]
  dockerfile = "images/jetson-orin/Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-jetson-orin-stack:${VERSION}"]
  args = {
    BASE_IMAGE = "${L4T_JETPACK6_BASE}"
  }
}

# ---- the images: the edgebench layer on each stack ----

target "_edgebench" {
  inherits   = ["_common"]
  dockerfile = "images/edgebench/Dockerfile"
  args = {
    BASE = "runtime-stack"
  }
}

target "host" {
  inherits  = ["_edgebench"]
  platforms = ["linux/amd64", "linux/arm64"]
  tags      = ["${REGISTRY}/edgebench-host:${VERSION}"]
  contexts = {
    runtime-stack = "target:host-stack"
  }
}

target "rpi" {
  inherits  = ["_edgebench"]
  platforms = ["linux/arm64"]
  tags      = ["${REGISTRY}/edgebench-rpi:${VERSION}"]
  contexts = {
    runtime-stack = "target:rpi-stack"
  }
}

target "rpi-armnn" {
  inherits  = ["_edgebench"]
  platforms = ["linux/arm64"]
  tags      = ["${REGISTRY}/edgebench-rpi-armnn:${VERSION}"]
  contexts = {
    runtime-stack = "target:rpi-armnn-stack"
  }
}

# USER_GROUPS: the device-node groups of the target's profiles (launcher/profiles.py), given to the image's user.
target "rpi-coral" {
  inherits  = ["_edgebench"]
  platforms = ["linux/arm64"]
  tags      = ["${REGISTRY}/edgebench-rpi-coral:${VERSION}"]
  contexts = {
    runtime-stack = "target:rpi-coral-stack"
  }
  args = {
    USER_GROUPS = "plugdev"
  }
}

target "jetson-nano" {
  inherits  = ["_edgebench"]
  platforms = ["linux/arm64"]
  tags      = ["${REGISTRY}/edgebench-jetson-nano:${VERSION}"]
  contexts = {
    runtime-stack = "target:jetson-nano-stack"
  }
  args = {
    USER_GROUPS = "video"
  }
}

target "jetson-orin" {
  inherits  = ["_edgebench"]
  platforms = ["linux/arm64"]
  tags      = ["${REGISTRY}/edgebench-jetson-orin:${VERSION}"]
  contexts = {
    runtime-stack = "target:jetson-orin-stack"
  }
  args = {
    USER_GROUPS = "video"
  }
}

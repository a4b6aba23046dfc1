# edgebench images. With buildx: `docker buildx bake [target]`. Without buildx (this build machine, engine 20.10),
# `make images [TARGET=...]` runs images/build.py, which reads this same file and runs one classic
# `docker build --platform` per target and platform. One target per images/<target>/ folder (tests/test_bake.py).

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

target "host" {
  inherits   = ["_common"]
  dockerfile = "images/host/Dockerfile"
  platforms  = ["linux/amd64", "linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-host:${VERSION}"]
  args = {
    BASE_IMAGE     = "${BOOKWORM_BASE}"
    WITH_TORCH     = "${WITH_TORCH}"
    TORCH_PIP_ARGS = "${TORCH_PIP_ARGS}"
  }
}

target "rpi" {
  inherits   = ["_common"]
  dockerfile = "images/rpi/Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-rpi:${VERSION}"]
  args = {
    BASE_IMAGE     = "${BOOKWORM_BASE}"
    WITH_TORCH     = "${WITH_TORCH}"
    TORCH_PIP_ARGS = "${TORCH_PIP_ARGS}"
  }
}

# Built on top of the rpi target: buildx resolves `FROM rpi` through the named context; images/build.py
# substitutes the rpi image it built for the same platform.
target "rpi-armnn" {
  inherits   = ["_common"]
  dockerfile = "images/rpi-armnn/Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-rpi-armnn:${VERSION}"]
  contexts = {
    rpi = "target:rpi"
  }
  args = {
    BASE_IMAGE          = "rpi"
    WITH_ARMNN_DELEGATE = "${WITH_ARMNN_DELEGATE}"
  }
}

target "rpi-coral" {
  inherits   = ["_common"]
  dockerfile = "images/rpi-coral/Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-rpi-coral:${VERSION}"]
  args = {
    BASE_IMAGE      = "${BULLSEYE_BASE}"
    WITH_EDGETPU    = "${WITH_EDGETPU}"
    EDGETPU_RUNTIME = "${EDGETPU_RUNTIME}"
  }
}

# images/build.py builds the jetson-* targets with the classic builder (DOCKER_BUILDKIT=0) and leaves them out of
# `buildx bake`, also where buildx exists: see the note above jetson-orin.
target "jetson-nano" {
  inherits   = ["_common"]
  dockerfile = "images/jetson-nano/Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-jetson-nano:${VERSION}"]
  args = {
    BASE_IMAGE = "${L4T_BASE}"
  }
}

# Jetson targets build ON the Jetson with the classic builder (DOCKER_BUILDKIT=0, "default-runtime": "nvidia"):
# BuildKit ignores the default runtime in RUN steps, so CUDA/TensorRT and the GPU driver are missing there.
target "jetson-orin" {
  inherits   = ["_common"]
  dockerfile = "images/jetson-orin/Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-jetson-orin:${VERSION}"]
  args = {
    BASE_IMAGE = "${L4T_JETPACK6_BASE}"
  }
}

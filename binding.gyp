{
  "targets": [
    {
      "target_name": "nfvgw",
      "sources": ["<!@(node scripts/native-sources.mjs --gyp)"],
      "include_dirs": ["native"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-isystem", "<!(node -p \"require('path').resolve(require('node-addon-api').include_dir)\")", "-std=c++20", "-O3", "-g", "-march=x86-64-v2", "-fno-strict-aliasing", "-fexceptions", "-flto=auto", "-Wall", "-Wextra", "-Wshadow", "-Wno-missing-field-initializers"],
      "ldflags": ["-flto=auto", "-O3"],
      "libraries": ["<!@(pkg-config --libs libxdp libbpf)", "-lpthread"]
    },
    {
      "target_name": "bpf_programs",
      "type": "none",
      "dependencies": ["nfvgw"],
      "actions": [
        {
          "action_name": "build_bpf",
          "inputs": ["<!@(ls native/bpf/*.bpf.c)", "scripts/build-bpf.sh"],
          "outputs": ["<(PRODUCT_DIR)/bpf.stamp"],
          "action": ["bash", "scripts/build-bpf.sh", "<(PRODUCT_DIR)"]
        }
      ]
    }
  ]
}

{
  # node-gyp build of the CPU addon (npm install runs it when no prebuild matches).
  # CUDA kernels are built by CMakeLists.txt (npm run build:native) only.
  "variables": {
    "sacl_version": "<!(node -p \"require('./package.json').version\")"
  },
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native/include"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "SACL_VERSION=\"<(sacl_version)\""],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
    "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-fno-math-errno", "-ffp-contract=off"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "OTHER_CPLUSPLUSFLAGS": ["-O3", "-ffp-contract=off"]
    },
    "msvs_settings": {"VCCLCompilerTool": {"ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"]}}
  },
  "targets": [
    {
      "target_name": "sacl_au",
      "sources": [
        "native/addon/addon.cc",
        "native/addon/args.cc",
        "native/addon/async.cc",
        "native/addon/knn_binding.cc",
        "native/addon/max_relative_binding.cc",
        "native/addon/roi_align_binding.cc",
        "native/addon/gemm_binding.cc",
        "native/addon/elementwise_binding.cc",
        "native/addon/reduce_binding.cc",
        "native/addon/conv_binding.cc",
        "native/addon/movement_binding.cc",
        "native/addon/sgd_binding.cc",
        "native/addon/layer_norm_binding.cc",
        "native/addon/gelu_binding.cc",
        "native/addon/batch_norm_binding.cc",
        "native/addon/malloc_tuning.cc",
        "native/addon/host_memory.cc",
        "native/ops/knn_graph.cc",
        "native/ops/max_relative.cc",
        "native/ops/roi_align.cc",
        "native/cuda/no_cuda.cc",
        "native/cpu/parallel.cc",
        "native/cpu/knn_graph.cc",
        "native/cpu/knn_tile_generic.cc",
        "native/cpu/max_relative.cc",
        "native/cpu/roi_align.cc",
        "native/cpu/channel_blocks.cc",
        "native/cpu/gemm.cc",
        "native/cpu/reduce.cc",
        "native/cpu/conv.cc",
        "native/cpu/depthwise.cc",
        "native/cpu/movement.cc",
        "native/cpu/pool.cc",
        "native/cpu/elementwise.cc",
        "native/cpu/sgd.cc",
        "native/cpu/layer_norm.cc",
        "native/cpu/gelu.cc",
        "native/cpu/batch_norm.cc"
      ],
      "conditions": [
        ["target_arch=='x64'", {
          "defines": ["SACL_HAVE_AVX2", "SACL_HAVE_AVX512"],
          "dependencies": ["sacl_knn_avx2", "sacl_knn_avx512"]
        }],
        ["OS!='win'", {"libraries": ["-lpthread"]}]
      ]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "sacl_knn_avx2",
          "type": "static_library",
          "sources": ["native/cpu/knn_tile_avx2.cc"],
          "cflags_cc": ["-mavx2", "-mfma", "-ffp-contract=fast"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-mavx2", "-mfma"]},
          "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["/arch:AVX2"]}}
        },
        {
          "target_name": "sacl_knn_avx512",
          "type": "static_library",
          "sources": ["native/cpu/knn_tile_avx512.cc"],
          "cflags_cc": ["-mavx512f", "-mfma", "-ffp-contract=fast"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-mavx512f", "-mfma"]},
          "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["/arch:AVX512"]}}
        }
      ]
    }]
  ]
}

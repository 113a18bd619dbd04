# node-gyp build of build/Release/metagrad.node (`npm run build:gyp`), the same sources, ISA
# variants and flags as CMakeLists.txt (the primary build); keep the two in step.
{
  'variables': {
    'eigen_include': '<!(node native/find-eigen.js)',
    'napi_include': '<!(node -p "require(\'node-addon-api\').include_dir")',
    'avx2_flags': ['-mavx', '-mavx2', '-mfma', '-mf16c', '-mbmi', '-mbmi2', '-mlzcnt',
                   '-mmovbe', '-mpopcnt', '-msse4.2'],
    'x86': '<!(node -p "process.arch === \'x64\' && process.platform !== \'win32\' ? 1 : 0")',
  },
  'target_defaults': {
    # -isystem (which overrides the -I from include_dirs) silences warnings inside Eigen.
    'cflags': ['-fvisibility=hidden', '-fPIC', '-isystem', '<(eigen_include)'],
    'cflags!': ['-fno-exceptions'],
    'cflags_cc': ['-std=c++17', '-fvisibility-inlines-hidden', '-fexceptions'],
    'cflags_cc!': ['-fno-exceptions', '-fno-rtti', '-std=gnu++17'],
    'include_dirs': ['<(napi_include)', '<(eigen_include)'],
    'defines': ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', 'NODE_ADDON_API_CPP_EXCEPTIONS_ALL',
                'NODE_ADDON_API_DISABLE_DEPRECATED'],
    'xcode_settings': {
      'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
      'GCC_ENABLE_CPP_RTTI': 'YES',
      'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
      'GCC_SYMBOLS_PRIVATE_EXTERN': 'YES',
      'OTHER_CPLUSPLUSFLAGS': ['-fexceptions', '-O3'],
    },
    'msvs_settings': {'VCCLCompilerTool': {'ExceptionHandling': 1}},
  },
  'targets': [
    # The hot kernels, native/variant.cc once per ISA (see the comment at its top).
    {
      'target_name': 'mg_kernels_baseline',
      'type': 'static_library',
      'sources': ['native/variant.cc'],
      'defines': ['MG_ISA=baseline'],
      'cflags': ['-fno-math-errno'],
    },
    # Random numbers and replayed dot products: no fused multiply-adds, for the same bits everywhere.
    {
      'target_name': 'mg_rng',
      'type': 'static_library',
      'sources': ['native/rng.cc', 'native/replay.cc'],
      'cflags': ['-ffp-contract=off'],
    },
    {
      'target_name': 'metagrad',
      'sources': ['native/binding.cc', 'native/dispatch.cc', 'native/parallel.cc',
                  'native/solve.cc'],
      'dependencies': ['mg_kernels_baseline', 'mg_rng'],
      'conditions': [
        ['x86==1', {
          'dependencies': ['mg_kernels_avx2', 'mg_kernels_avx512'],
          'defines': ['MG_HAVE_AVX2', 'MG_HAVE_AVX512'],
        }],
        ['OS=="linux"', {
          'ldflags': ['-Wl,--version-script=<(module_root_dir)/native/exports.map'],
        }],
      ],
    },
  ],
  'conditions': [
    ['x86==1', {
      'targets': [
        {
          'target_name': 'mg_kernels_avx2',
          'type': 'static_library',
          'sources': ['native/variant.cc'],
              'defines': ['MG_ISA=avx2'],
          'cflags': ['-fno-math-errno', '<@(avx2_flags)'],
        },
        {
          'target_name': 'mg_kernels_avx512',
          'type': 'static_library',
          'sources': ['native/variant.cc'],
              'defines': ['MG_ISA=avx512'],
          'cflags': ['-fno-math-errno', '<@(avx2_flags)', '-mavx512f', '-mavx512dq',
                     '-mavx512bw', '-mavx512vl', '-mavx512cd',
                     # GCC 12 false positive inside its own avx512fintrin.h
                     '-Wno-maybe-uninitialized'],
        },
      ],
    }],
  ],
}

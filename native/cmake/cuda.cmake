# The optional CUDA backend. CMakeLists.txt includes this file only when nvcc was found (or
# ENGINE_CUDA=ON) and enable_language(CUDA) succeeded. It adds:
#   engine_cuda      - static library with src/backend/cuda/*.cu, linked into engine_core, which then
#                      defines CLASP_WITH_CUDA so backend_create.cpp offers --backend cuda
#   clasp-gpu-tests  - every CUDA op against the ref oracle, batch invariance, the demo model
#   clasp-gpu-bench  - Llama-3.2-1B / Llama-3-8B shaped random BF16 models: bandwidth, prefill,
#                      decode and its ops one by one, draft, verify and DP costs, one JSON line each
# No cuBLAS: only the CUDA runtime (linked statically, so the addon needs just the driver).
find_package(CUDAToolkit REQUIRED)

# sm_90 machine code plus compute_90 PTX, which newer cards (sm_100, sm_120) compile at load time.
# Older cards (sm_80/86/89) work too when built for them, e.g. -DCLASP_CUDA_ARCHITECTURES=86-real.
set(CLASP_CUDA_ARCHITECTURES "90-real;90-virtual" CACHE STRING "CUDA architectures of the CUDA backend")
message(STATUS "CUDA backend: nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${CLASP_CUDA_ARCHITECTURES}")

file(GLOB CLASP_CUDA_SRC CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/backend/cuda/*.cu)
add_library(engine_cuda STATIC ${CLASP_CUDA_SRC})
set_target_properties(engine_cuda PROPERTIES
  CUDA_ARCHITECTURES "${CLASP_CUDA_ARCHITECTURES}"
  CUDA_STANDARD 17
  CUDA_STANDARD_REQUIRED ON
  POSITION_INDEPENDENT_CODE ON
  CUDA_SEPARABLE_COMPILATION OFF)
target_include_directories(engine_cuda PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
string(REPLACE ";" " " CLASP_CUDA_ARCHS_TEXT "${CLASP_CUDA_ARCHITECTURES}")
target_compile_definitions(engine_cuda PRIVATE CLASP_CUDA_ARCHS="${CLASP_CUDA_ARCHS_TEXT}")
# No fast math: IEEE division, sqrt, expf and sincosf keep the ops close to the reference.
target_compile_options(engine_cuda PRIVATE "$<$<COMPILE_LANGUAGE:CUDA>:-O3;-lineinfo;-Xcompiler=-Wall>")
target_link_libraries(engine_cuda PUBLIC CUDA::cudart_static)

target_link_libraries(engine_core PUBLIC engine_cuda)
target_compile_definitions(engine_core PRIVATE CLASP_WITH_CUDA)

# ---- GPU test suite and benchmark (never part of npm test)
set(CLASP_TEST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/../test)
file(GLOB GPU_TEST_SRC CONFIGURE_DEPENDS ${CLASP_TEST_DIR}/gpu/test_*.cpp)
add_executable(clasp-gpu-tests ${CLASP_TEST_DIR}/native/main.cpp ${GPU_TEST_SRC})
target_link_libraries(clasp-gpu-tests PRIVATE engine_core)
target_include_directories(clasp-gpu-tests PRIVATE src ${CLASP_TEST_DIR}/native ${CLASP_TEST_DIR}/gpu)
get_filename_component(CLASP_REPO_ABS ${CMAKE_CURRENT_SOURCE_DIR}/.. ABSOLUTE)
target_compile_definitions(clasp-gpu-tests PRIVATE CLASP_REPO_DIR="${CLASP_REPO_ABS}" CLASP_SUITE_CUDA)

add_executable(clasp-gpu-bench ${CLASP_TEST_DIR}/gpu/bench.cpp ${CLASP_TEST_DIR}/gpu/bench_ops.cpp)
target_link_libraries(clasp-gpu-bench PRIVATE engine_core CUDA::cudart_static)
target_include_directories(clasp-gpu-bench PRIVATE src ${CLASP_TEST_DIR}/gpu)

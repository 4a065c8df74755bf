// PyTorch C++ peer for bench/train.ts: the same MobileNetV2 (width multiplier, 136 outputs),
// channels-last, BatchNorm in training mode, MSE loss, Adam; prints one JSON line with the
// wall-clock and CPU milliseconds of each timed step.
//   mobilenetv2_train <width> <input size> <batch> <steps> <threads> [profile]
// With `profile`, three more steps run under the autograd profiler and "profileMs" gives the
// milliseconds per step of each operator family (bench/profile-compare.ts sets them beside the
// native kernels'): convolutions by kind (1x1, depthwise, the 3x3 stem), batch norm, ReLU6.
#include <torch/torch.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <string>
#include <vector>

namespace {

int make_divisible(double v, int d = 8) {
  int out = std::max(d, static_cast<int>(v + d / 2.0) / d * d);
  if (out < 0.9 * v) out += d;
  return out;
}

struct ConvBnImpl : torch::nn::Module {
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  bool relu;
  ConvBnImpl(int in, int out, int k, int stride, int groups, bool relu6) : relu(relu6) {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).groups(groups).bias(false)));
    bn = register_module("bn", torch::nn::BatchNorm2d(torch::nn::BatchNormOptions(out).momentum(0.001).eps(1e-3)));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = bn(conv(x));
    return relu ? torch::relu6(x) : x;
  }
};
TORCH_MODULE(ConvBn);

struct BlockImpl : torch::nn::Module {
  torch::nn::Sequential body;
  bool residual;
  BlockImpl(int in, int out, int t, int stride) : residual(stride == 1 && in == out) {
    if (t != 1) body->push_back(ConvBn(in, in * t, 1, 1, 1, true));
    body->push_back(ConvBn(in * t, in * t, 3, stride, in * t, true));
    body->push_back(ConvBn(in * t, out, 1, 1, 1, false));
    register_module("body", body);
  }
  torch::Tensor forward(torch::Tensor x) { return residual ? x + body->forward(x) : body->forward(x); }
};
TORCH_MODULE(Block);

struct NetImpl : torch::nn::Module {
  torch::nn::Sequential features;
  torch::nn::Linear head{nullptr};
  explicit NetImpl(double width) {
    const int blocks[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    int c = make_divisible(32 * width);
    features->push_back(ConvBn(3, c, 3, 2, 1, true));
    for (const auto& b : blocks) {
      const int out = make_divisible(b[1] * width);
      for (int i = 0; i < b[2]; ++i) {
        features->push_back(Block(c, out, b[0], i == 0 ? b[3] : 1));
        c = out;
      }
    }
    const int last = width > 1.0 ? make_divisible(1280 * width) : 1280;
    features->push_back(ConvBn(c, last, 1, 1, 1, true));
    register_module("features", features);
    head = register_module("head", torch::nn::Linear(last, 136));
  }
  torch::Tensor forward(torch::Tensor x) { return head(features->forward(x).mean({2, 3})); }
};
TORCH_MODULE(Net);

// The family of a profiled operator, or null for one not counted (its children are).
const char* family(const std::string& name, const std::vector<std::vector<int64_t>>& shapes) {
  const bool fwd = name == "aten::mkldnn_convolution", bwd = name == "aten::convolution_backward";
  if (fwd || bwd) {
    const auto& w = shapes.size() > (bwd ? 2u : 1u) ? shapes[bwd ? 2 : 1] : std::vector<int64_t>();
    if (w.size() != 4) return bwd ? "conv other backward" : "conv other forward";
    if (w[2] == 1 && w[3] == 1) return bwd ? "conv 1x1 backward" : "conv 1x1 forward";
    if (w[1] == 1) return bwd ? "depthwise backward" : "depthwise forward";
    return bwd ? "stem conv backward" : "stem conv forward";
  }
  if (name == "aten::native_batch_norm") return "batch norm forward";
  if (name == "aten::native_batch_norm_backward") return "batch norm backward";
  if (name == "aten::clamp" || name == "aten::clamp_") return "relu6 forward";
  if (name == "aten::hardtanh_backward") return "relu6 backward";
  return nullptr;
}

// Milliseconds per step of each family over `steps` profiled steps (single-threaded timings:
// the profiler measures each operator's wall time on its thread).
template <typename Step>
std::map<std::string, double> profile(Step&& step, int steps) {
  using namespace torch::autograd::profiler;
  enableProfilerLegacy(ProfilerConfig(ProfilerState::CPU, /*report_input_shapes=*/true));
  for (int i = 0; i < steps; ++i) step();
  const auto lists = disableProfilerLegacy();
  std::map<std::string, double> ms;
  for (const auto& list : lists) {
    std::vector<const LegacyEvent*> open;
    for (const auto& e : list) {
      if (e.kindStr() == std::string("push")) {
        open.push_back(&e);
      } else if (e.kindStr() == std::string("pop") && !open.empty()) {
        const LegacyEvent* s = open.back();
        open.pop_back();
        if (const char* f = family(s->name(), s->shapes())) ms[f] += s->cpuElapsedUs(e) / 1000.0 / steps;
      }
    }
  }
  return ms;
}

double cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6 && !(argc == 7 && std::string(argv[6]) == "profile")) {
    std::fprintf(stderr, "usage: %s <width> <size> <batch> <steps> <threads> [profile]\n", argv[0]);
    return 2;
  }
  const double width = std::stod(argv[1]);
  const int size = std::stoi(argv[2]), batch = std::stoi(argv[3]), steps = std::stoi(argv[4]), threads = std::stoi(argv[5]);
  torch::set_num_threads(threads);
  torch::manual_seed(0);
  Net net(width);
  net->train();
  for (auto& p : net->parameters())
    if (p.dim() == 4) p.set_data(p.data().contiguous(torch::MemoryFormat::ChannelsLast));
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  const auto x = torch::randn({batch, 3, size, size}).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto y = torch::randn({batch, 136});
  auto step = [&] {
    opt.zero_grad();
    auto loss = torch::mse_loss(net->forward(x), y);
    loss.backward();
    opt.step();
    return loss.item<float>();
  };
  step();  // warm-up
  std::vector<double> ms, cpu;
  for (int i = 0; i < steps; ++i) {
    const double c0 = cpu_ms();
    const auto t0 = std::chrono::steady_clock::now();
    step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    cpu.push_back(cpu_ms() - c0);
  }
  std::string out = "{\"ms\":[";
  for (size_t i = 0; i < ms.size(); ++i) out += (i ? "," : "") + std::to_string(ms[i]);
  out += "],\"cpuMs\":[";
  for (size_t i = 0; i < cpu.size(); ++i) out += (i ? "," : "") + std::to_string(cpu[i]);
  out += "]";
  if (argc == 7) {
    out += ",\"profileMs\":{";
    bool first = true;
    for (const auto& [name, v] : profile(step, 3)) {
      out += (first ? "\"" : ",\"") + name + "\":" + std::to_string(v);
      first = false;
    }
    out += "}";
  }
  out += ",\"torch\":\"" TORCH_VERSION "\"}";
  std::printf("%s\n", out.c_str());
  return 0;
}

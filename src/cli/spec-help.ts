/** What `dk train --model` and `dk distill --student` say about model spec strings (src/nn/spec.ts). */
export const SPEC_FLAG_HELP = "architecture: 'mlp:H1,H2,…', 'cnn:C1,C2[:F1,…][@K]', 'resnet:C1,C2,…[:B]', 'mobilenet:C1,C2,…', 'linear' (see below), or an ONNX file (e.g. a PyTorch export) trained from its own weights";

export const SPEC_HELP = `
Model specs (sizes of input and output come from the data):
  mlp:H1,H2,…            ReLU MLP with hidden sizes H_i (flattened input), e.g. mlp:800,800
  linear                 softmax regression
  cnn:C1,C2[:F1,…][@K]   K×K 'same' convolutions (K odd, default 5) of C_i channels, each followed
                         by 2×2 max-pooling and ReLU, then fully connected ReLU layers F_j,
                         e.g. cnn:32,64:1024, cnn:32,64:256@3
  resnet:C1,…,Cs[:B]     CIFAR-style ResNet: 3×3 conv-BN-ReLU stem of C1 channels, s stages of B
                         basic blocks (default 1; two 3×3 conv-BN, identity or 1×1 stride-2
                         conv-BN shortcut), stride 2 between stages, global average pooling,
                         one linear layer. resnet:16,32,64 = ResNet-8, resnet:16,32,64:3 = ResNet-20
  mobilenet:C1,C2,…      MobileNet-style: 3×3 conv-BN-ReLU6 stem of C1 channels, then per C_i a
                         depthwise-separable block (3×3 depthwise conv-BN-ReLU6, 1×1 conv to C_i
                         -BN-ReLU6), stride 2 where the channel count grows, global average
                         pooling, one linear layer; e.g. mobilenet:16,32,64,128
  cnn, resnet and mobilenet need image data [C,H,W]. resnet and mobilenet always have BatchNorm
  (--batchnorm is for mlp and cnn); their --dropout acts before the linear layer.
  FILE.onnx              a student given as an ONNX file: its graph and weights, trained as they
                         are (README: Your own student).`;

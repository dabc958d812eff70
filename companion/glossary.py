"""The term list: one Chinese term per concept, for both editions, the figures and the glossary of §1.6.

Where 动手学深度学习 (d2l-zh, Zhang, Lipton, Li & Smola) has a standard term, this list uses it
(迭代周期, 汇聚层, 隐状态, 偏置, 暂退法, …), so that a reader moving between the two books meets one
vocabulary. ``avoid`` lists variants that must not appear in the book's own text (a test scans every
notebook of both editions and the translation catalogues); quotations of the textbook, written in
「corner brackets」, keep the textbook's words.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """One concept: its English and Chinese names, where the textbook uses it, where this book explains it."""

    en: str
    zh: str
    textbook: str | None  # the textbook's § that uses the concept, or None if it never does
    section: str  # the section of this book that explains it, e.g. "1.3.1" (notebook 03)
    avoid: tuple[str, ...] = ()  # variants that must not appear in the book's own text
    also: str = ""  # another name a reader meets elsewhere (shown in the glossary, not used in the text)


TERMS: tuple[Term, ...] = (
    # §1.2.1–1.2.2 neural networks and depth
    Term("neural network", "神经网络", "1.2.1", "1.2.1"),
    Term("neuron (node, unit)", "神经元", "1.2.1", "1.2.1", also="节点"),
    Term("weight", "权重", "1.2.1", "1.3.1"),
    Term("bias", "偏置", "1.3.1", "1.3.1", also="教材作「偏差」"),
    Term("activation function", "激活函数", "1.4.1", "1.2.1"),
    Term("rectified linear unit (ReLU)", "修正线性单元（ReLU）", "1.4.1", "1.4.1", also="线性整流函数"),
    Term("hyperbolic tangent (tanh)", "双曲正切函数（tanh）", "1.3.3", "1.3.3"),
    Term("sigmoid function", "sigmoid 函数", "1.4.2", "1.4.2", also="S 型函数、逻辑函数"),
    Term("multilayer perceptron (MLP)", "多层感知机", None, "1.2.1"),
    Term("perceptron", "感知机", None, "1.1"),
    Term("adaptive linear neuron (ADALINE)", "自适应线性神经元（ADALINE）", None, "1.1", avoid=("ADALINE 自适应滤波",)),
    # §1.1 the brain against the models, and the units of its first generative model
    Term("synapse", "突触", None, "1.1"),
    Term("action potential (spike)", "动作电位（脉冲）", None, "1.1"),
    Term("grey level", "灰度级", None, "1.1"),
    Term("nat (unit of information, natural logarithm)", "奈特（nat）", None, "1.1"),
    Term("loss function", "损失函数", "1.2.1", "1.3.1"),
    Term("deep learning", "深度学习", "1.2.2", "1.2.2"),
    Term("feature (representation)", "特征（表示）", "1.2.2", "1.2.3"),
    Term("hidden layer", "隐藏层", None, "1.2.1"),
    Term("decision boundary", "决策边界", None, "1.2.2"),
    Term("universal approximation theorem", "通用近似定理", None, "1.2.2"),
    # §1.3.1 backpropagation and training
    Term("backpropagation", "反向传播", "1.3.1", "1.3.1", also="教材作「反向传播算法」"),
    Term("gradient", "梯度", "1.3.1", "1.3.1"),
    Term("gradient descent", "梯度下降", "1.3.1", "1.3.1"),
    Term("computational graph", "计算图", None, "1.3.1"),
    Term("chain rule", "链式法则", None, "1.3.1"),
    Term("finite differences", "有限差分", None, "1.3.1"),
    Term("learning rate", "学习率", "1.4.1", "1.5.1"),
    Term("learning-rate schedule", "学习率调度", None, "1.4.1"),
    Term("optimiser", "优化器", "1.4.1", "1.5.1", also="优化算法"),
    Term("stochastic gradient descent (SGD)", "随机梯度下降（SGD）", "1.4.1", "1.5.1"),
    Term("momentum", "动量法", None, "1.5.1"),
    Term("Adam", "Adam 优化器", "1.4.2", "1.5.1"),
    Term("mini-batch", "小批量", None, "1.4.1"),
    Term("epoch", "迭代周期", None, "1.4.1", avoid=("训练轮次",), also="轮次、epoch"),
    Term("hyperparameter", "超参数", None, "1.4.1"),
    Term("training set / validation set / test set", "训练集 / 验证集 / 测试集", None, "1.4.1"),
    Term("overfitting", "过拟合", None, "1.5.2"),
    Term("regularisation", "正则化", "1.5.1", "1.5.1"),
    Term("weight decay", "权重衰减", None, "1.5.1"),
    Term("dropout", "暂退法（dropout）", None, "1.4.1", also="丢弃法"),
    Term("batch normalisation", "批量规范化", None, "1.4.1", also="批归一化"),
    Term("cross-entropy loss", "交叉熵损失", "1.4.1", "1.4.1"),
    Term("binary cross-entropy", "二元交叉熵", "1.4.2", "1.4.2"),
    Term("unit roundoff (floating-point rounding)", "单位舍入误差（浮点舍入）", None, "1.3.1"),
    # §1.2.3 / §1.3.2 convolution
    Term("convolutional neural network (CNN)", "卷积神经网络（CNN）", "1.2.3", "1.4.1"),
    Term("convolution layer", "卷积层", "1.3.2", "1.3.2"),
    Term("convolution", "卷积运算", "1.3.2", "1.3.2"),
    Term("cross-correlation", "互相关运算", None, "1.3.2"),
    Term("kernel (filter)", "卷积核", "1.3.2", "1.3.2", also="教材作「滤波器」"),
    Term("padding", "填充", "1.4.1", "1.3.2"),
    Term("stride", "步幅", None, "1.3.2"),
    Term("dilation", "膨胀（空洞）", None, "1.3.2"),
    Term("feature map", "特征图", None, "1.2.3"),
    Term("channel", "通道", None, "1.3.2"),
    Term("receptive field", "感受野", None, "1.3.2"),
    Term("pooling layer", "汇聚层", None, "1.4.1", avoid=("池化层",), also="池化层"),
    Term("max pooling", "最大汇聚", None, "1.2.3", avoid=("最大池化",)),
    Term("global average pooling", "全局平均汇聚", None, "1.2.3", avoid=("全局平均池化",)),
    Term("fully connected layer", "全连接层", "1.2.3", "1.4.1"),
    Term("translation equivariance", "平移等变性", None, "1.2.3"),
    Term("translation invariance", "平移不变性", None, "1.2.3"),
    Term("data augmentation", "数据增广", None, "1.5.2", avoid=("数据增强",), also="数据增强"),
    Term("moving average (running average)", "移动平均", None, "1.4.1", avoid=("滑动平均",)),
    # §1.2.4 / §1.3.3 recurrent networks
    Term("recurrent neural network (RNN)", "循环神经网络（RNN）", "1.2.4", "1.3.3"),
    Term("hidden state", "隐状态", "1.3.3", "1.3.3", avoid=("递归状态", "隐藏状态"), also="教材作「递归状态」"),
    Term("backpropagation through time (BPTT)", "通过时间反向传播（BPTT）", None, "1.3.3",
         avoid=("随时间反向传播",)),
    Term("vanishing / exploding gradients", "梯度消失 / 梯度爆炸", None, "1.3.3"),
    Term("gradient clipping", "梯度裁剪", None, "1.3.3"),
    Term("spectral radius", "谱半径", None, "1.3.3"),
    Term("Jacobian matrix", "雅可比矩阵", None, "1.3.3"),
    Term("gated recurrent unit (GRU)", "门控循环单元（GRU）", None, "1.3.3"),
    Term("long short-term memory (LSTM)", "长短期记忆网络（LSTM）", None, "1.1"),
    Term("character-level language model", "字符级语言模型", None, "1.3.3"),
    Term("bits per character", "每字符比特数", None, "1.3.3"),
    Term("temperature (sampling)", "温度（采样）", None, "1.3.3"),
    # §1.2.5 / §1.3.4 GANs
    Term("generative model", "生成模型", "1.2.5", "1.2.5"),
    Term("generative adversarial network (GAN)", "生成对抗网络（GAN）", "1.2.5", "1.4.2"),
    Term("generator", "生成器", "1.2.5", "1.3.4"),
    Term("discriminator", "判别器", "1.2.5", "1.3.4"),
    Term("minimax game", "极小极大博弈", None, "1.3.4"),
    Term("optimal discriminator", "最优判别器", None, "1.3.4"),
    Term("non-saturating generator loss", "非饱和生成器损失", None, "1.3.4"),
    Term("Jensen–Shannon divergence", "詹森-香农散度（JS 散度）", None, "1.3.4"),
    Term("mode collapse", "模式崩溃", None, "1.3.4"),
    Term("Fréchet distance", "弗雷歇距离", None, "1.4.2"),
    Term("exponential moving average (EMA) of weights", "权重的指数移动平均（EMA）", None, "1.4.2"),
    Term("spectral normalisation", "谱归一化", None, "1.4.2"),
    # §1.2.6 / §1.3.5 VAEs
    Term("variational autoencoder (VAE)", "变分自编码器（VAE）", "1.2.6", "1.3.5"),
    Term("autoencoder", "自编码器", "1.2.6", "1.2.6"),
    Term("encoder", "编码器", "1.2.6", "1.3.5"),
    Term("decoder", "解码器", "1.2.6", "1.3.5"),
    Term("latent variable (latent code)", "潜变量", "1.2.6", "1.2.6", avoid=("隐变量",),
         also="教材作「低维的代表性向量」"),
    Term("latent space", "潜空间", None, "1.2.6", avoid=("潜在空间", "隐空间")),
    Term("evidence lower bound (ELBO)", "证据下界（ELBO）", None, "1.3.5"),
    Term("Kullback–Leibler divergence", "KL 散度", None, "1.3.5"),
    Term("reparameterisation trick", "重参数化技巧", None, "1.3.5"),
    Term("score-function estimator (REINFORCE)", "得分函数估计量（REINFORCE）", None, "1.3.5", also="似然比估计量"),
    Term("posterior", "后验分布", None, "1.3.5"),
    Term("prior", "先验分布", None, "1.3.5"),
    Term("likelihood", "似然", None, "1.3.5"),
    # diffusion and §1.5
    Term("diffusion model (DDPM)", "扩散模型（DDPM）", None, "1.3.6"),
    Term("forward (noising) process", "前向（加噪）过程", None, "1.3.6"),
    Term("reverse (denoising) process", "逆向（去噪）过程", None, "1.3.6", also="反向过程"),
    Term("denoising", "去噪", None, "1.3.6"),
    Term("noise schedule", "噪声调度", None, "1.3.6"),
    Term("signal-to-noise ratio (SNR)", "信噪比", None, "1.3.6"),
    Term("Markov chain", "马尔可夫链", None, "1.3.6", avoid=("马尔科夫链",)),
    Term("ancestral sampling", "祖先采样", None, "1.3.6"),
    Term("computing power (throughput)", "计算能力", "1.5.1", "1.5.1"),
    Term("distributed training (data parallelism)", "分布式训练（数据并行）", "1.5.1", "1.5.1"),
    Term("all-reduce", "全归约（all-reduce）", None, "1.5.1"),
    Term("throughput", "吞吐量", None, "1.5.1"),
    Term("depthwise-separable convolution", "深度可分离卷积", None, "1.5.1"),
    Term("multiply-add (count of operations)", "乘加运算", None, "1.5.1"),
    Term("confidence (largest softmax probability)", "置信度", None, "1.5.1"),
    Term("fast gradient sign method (FGSM)", "快速梯度符号法（FGSM）", None, "1.5.2"),
    Term("explainability", "可解释性", "1.5.1", "1.5.1", also="教材作「解释性」"),
    Term("saliency map", "显著图", None, "1.5.1"),
    Term("occlusion map", "遮挡图", None, "1.5.1"),
    Term("image restoration (inpainting)", "图像修复", "1.1", "1.5.1"),
    Term("learning curve", "学习曲线", None, "1.5.2"),
    Term("distribution shift", "分布偏移", None, "1.5.2"),
    Term("robustness", "鲁棒性", "1.6.2", "1.5.2"),
    Term("adversarial example", "对抗样本", None, "1.5.2"),
    Term("memorisation", "记忆（训练样本）", None, "1.5.2"),
    Term("support-vector machine (SVM)", "支持向量机（SVM）", None, "1.5.2"),
    Term("nearest-neighbour classifier", "最近邻分类器", None, "1.1"),
)


def avoided_variants() -> dict[str, str]:
    """Each variant that must not appear, mapped to the term that replaces it."""
    return {variant: term.zh for term in TERMS for variant in term.avoid}

namespace Regatta.Learning.Training;

/// <summary>Reported while training: where it is and how it goes (loss is the mean over the steps since the last report).</summary>
public sealed record TrainProgress(int Epoch, int Step, int TotalSteps, double Loss, double SamplesPerSecond);

/// <summary>
/// Outcome of local training. <see cref="Examples"/> is the number of training examples (the FedAvg weight);
/// <see cref="Loss"/> and <see cref="Accuracy"/> are over the last epoch, on the data as it was being trained on.
/// </summary>
public sealed record TrainResult(long Examples, double Loss, double Accuracy, double SamplesPerSecond, int Steps);

/// <summary>Mean loss and accuracy (per token for a language model) over <see cref="Examples"/> examples.</summary>
public sealed record EvalResult(double Loss, double Accuracy, long Examples);

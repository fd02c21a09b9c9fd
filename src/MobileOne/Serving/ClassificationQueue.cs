using MobileOne.Data;
using MobileOne.Inference;
using Microsoft.AspNetCore.Http;

namespace MobileOne.Serving;

/// <summary>
/// One classifier shared by every request, behind a bounded admission: at most the queue's capacity of
/// requests are admitted at once (reading, decoding, waiting, running), and the model runs one request at
/// a time, so that its threads are not oversubscribed. Decoding runs in parallel outside the model's turn.
/// </summary>
internal sealed class ClassificationQueue(ImageClassifier classifier, int capacity) : IDisposable
{
    private readonly SemaphoreSlim admission = new(capacity, capacity);
    private readonly SemaphoreSlim turn = new(1, 1);

    /// <summary>The most requests admitted at once.</summary>
    public int Capacity => capacity;

    /// <summary>Requests admitted now.</summary>
    public int Count => capacity - admission.CurrentCount;

    /// <summary>The classifier served.</summary>
    public ImageClassifier Classifier { get; } = classifier;

    /// <summary>Admits one request, or refuses it with 503 when the queue is full. Dispose the result to leave.</summary>
    public IDisposable Admit() => admission.Wait(0)
        ? new Slot(admission)
        : throw new RequestException(StatusCodes.Status503ServiceUnavailable, $"the server is busy: all {capacity} places in its queue are taken; retry later");

    /// <summary>The top-<paramref name="topK"/> classes of an encoded image; 400 when it does not decode.</summary>
    public async Task<IReadOnlyList<Prediction>> ClassifyAsync(byte[] encoded, int topK, CancellationToken cancel)
    {
        var pre = Classifier.Preprocessing;
        var input = new float[pre.Channels * pre.Size * pre.Size];
        try
        {
            pre.ProcessInto(ImageDecoder.Decode(encoded, "the uploaded image"), input);
        }
        catch (MobileOneException e)
        {
            throw new RequestException(StatusCodes.Status400BadRequest, e.Message);
        }
        await turn.WaitAsync(cancel);
        try
        {
            return Classifier.Classify(input, 1, topK)[0];
        }
        finally
        {
            turn.Release();
        }
    }

    public void Dispose()
    {
        Classifier.Dispose();
        admission.Dispose();
        turn.Dispose();
    }

    private sealed class Slot(SemaphoreSlim admission) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0) admission.Release();
        }
    }
}

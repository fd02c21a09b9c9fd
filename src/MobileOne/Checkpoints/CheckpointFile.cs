using MobileOne.IO;

namespace MobileOne.Checkpoints;

/// <summary>Reads and writes state dicts in any supported file format, detected from the content.</summary>
public static class CheckpointFile
{
    /// <summary>The format of a file, from its first bytes.</summary>
    public static CheckpointFormat Detect(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"checkpoint not found: {path}");
        Span<byte> head = stackalloc byte[9];
        int n;
        using (var f = File.OpenRead(path)) n = f.ReadAtLeast(head, 9, throwOnEndOfStream: false);
        if (n == 0) throw new CheckpointException($"{path}: empty file");
        if (n >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4) return CheckpointFormat.Pth;
        if (n == 9 && head[8] == (byte)'{') return CheckpointFormat.Safetensors;
        if (head[0] == 0x80)
            throw new CheckpointException($"{path}: a legacy (pre-1.6, non-zip) torch.save file; re-save it with a current PyTorch: torch.save(torch.load(path), new_path)");
        throw new CheckpointException($"{path}: neither a PyTorch (zip) checkpoint nor a safetensors file");
    }

    /// <summary>Reads a state dict from a <c>.pth</c>/<c>.pth.tar</c> (zip) or safetensors file.</summary>
    public static StateDict Read(string path)
    {
        try
        {
            var state = Detect(path) == CheckpointFormat.Pth ? TorchCheckpointFormat.Read(path) : SafetensorsFormat.Read(path);
            if (state.Count == 0) throw new CheckpointException($"{path}: the checkpoint holds no tensors");
            return state;
        }
        catch (EndOfStreamException)
        {
            throw new CheckpointException($"{path}: truncated checkpoint");
        }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            throw new CheckpointException($"{path}: cannot read the checkpoint ({e.Message})");
        }
        catch (Exception e) when (e is not MobileOneException and not IOException)
        {
            // The formats check what they know to be wrong; anything else a damaged file provokes is still a
            // damaged file, reported as such (the cause stays attached for debugging).
            throw new CheckpointException($"{path}: corrupt checkpoint ({e.GetType().Name}: {e.Message})", e);
        }
    }

    /// <summary>Writes a state dict atomically (temporary file, then rename).</summary>
    public static void Write(string path, StateDict state, CheckpointFormat format) =>
        AtomicFile.Write(path, s =>
        {
            if (format == CheckpointFormat.Pth) TorchCheckpointFormat.Write(s, state);
            else SafetensorsFormat.Write(s, state);
        });

    /// <summary>The format a file name suggests: <c>.safetensors</c>, else PyTorch's.</summary>
    public static CheckpointFormat FormatFromExtension(string path) =>
        path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? CheckpointFormat.Safetensors : CheckpointFormat.Pth;
}

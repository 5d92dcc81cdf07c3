using System.Buffers;

namespace EventStream.Windowing.State;

/// <summary>
/// Turns one kind of window state (a key, an accumulator) into bytes and back, so a window's state can be committed
/// and restored by another process. A value read back must behave exactly as the value written: the same results, the
/// same merges.
/// </summary>
/// <typeparam name="T">The type of the values.</typeparam>
internal interface IStateCodec<T>
{
    /// <summary>Writes <paramref name="value"/>.</summary>
    /// <param name="value">The value.</param>
    /// <param name="output">Receives the bytes.</param>
    void Write(T value, IBufferWriter<byte> output);

    /// <summary>Reads a value written by <see cref="Write"/>.</summary>
    /// <param name="data">The bytes, exactly as written.</param>
    /// <returns>The value.</returns>
    T Read(ReadOnlySpan<byte> data);
}

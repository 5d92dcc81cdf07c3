using System.Buffers;

namespace EventStream.Windowing.State;

/// <summary>
/// Unsigned LEB128 varints (7 bits a byte, low first), and zigzag for signed values: the compact integers of the
/// sketch codecs (a count of 3 is one byte, not eight).
/// </summary>
internal static class StateVarint
{
    /// <summary>The window state's own varint (one encoding for all the state).</summary>
    public static void Write(IBufferWriter<byte> output, ulong value) => WindowStateFormat.WriteVarint(output, value);

    public static void WriteSigned(IBufferWriter<byte> output, long value) => Write(output, (ulong)((value << 1) ^ (value >> 63)));

    public static void WriteDouble(IBufferWriter<byte> output, double value)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteDoubleLittleEndian(output.GetSpan(8), value);
        output.Advance(8);
    }

    /// <summary>Reads a sketch's state from the front of a span, naming <c>what</c> it is in every error.</summary>
    internal ref struct Reader(ReadOnlySpan<byte> data, string what)
    {
        private ReadOnlySpan<byte> _data = data;

        public readonly bool IsEmpty => _data.IsEmpty;

        public ulong Read()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_data.IsEmpty)
                {
                    throw Bad("ends inside a number");
                }

                var b = _data[0];
                _data = _data[1..];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw Bad("has a number longer than 10 bytes");
        }

        public long ReadSigned()
        {
            var raw = Read();
            return (long)(raw >> 1) ^ -(long)(raw & 1);
        }

        /// <summary>A non-negative count that fits an int (a length, a capacity).</summary>
        public int ReadLength(int max)
        {
            var value = Read();
            return value <= (ulong)max ? (int)value : throw Bad($"has a length of {value}, more than {max}");
        }

        public long ReadCount()
        {
            var value = Read();
            return value <= long.MaxValue ? (long)value : throw Bad("has a count past long.MaxValue");
        }

        public byte ReadByte()
        {
            if (_data.IsEmpty)
            {
                throw Bad("ends early");
            }

            var b = _data[0];
            _data = _data[1..];
            return b;
        }

        public double ReadDouble() => System.Buffers.Binary.BinaryPrimitives.ReadDoubleLittleEndian(ReadBytes(8));

        public ulong ReadUInt64() => System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8));

        public ReadOnlySpan<byte> ReadBytes(int length)
        {
            if (_data.Length < length)
            {
                throw Bad("ends early");
            }

            var bytes = _data[..length];
            _data = _data[length..];
            return bytes;
        }

        public readonly void End()
        {
            if (!_data.IsEmpty)
            {
                throw Bad($"has {_data.Length} bytes past its end");
            }
        }

        public readonly FormatException Bad(string problem) => new($"Not a {what} state value: it {problem}.");
    }
}

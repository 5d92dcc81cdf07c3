using System.IO.Hashing;
using System.Text;

namespace EventStream.Redis.Partitions;

/// <summary>
/// Which live worker owns which partition, computed alike by every worker from the member set (rendezvous hashing:
/// the member with the highest hash of (member, partition) wins). A member that joins or leaves moves only the
/// partitions it wins or held; the others stay where they are.
/// </summary>
internal static class PartitionAssignment
{
    /// <summary>The owner of <paramref name="partition"/> among <paramref name="members"/>, or <see langword="null"/> when there are none.</summary>
    public static string? OwnerOf(int partition, IReadOnlyList<string> members)
    {
        string? best = null;
        ulong bestScore = 0;
        foreach (var member in members)
        {
            var score = XxHash64.HashToUInt64(Encoding.UTF8.GetBytes($"{member}#{partition}"));
            if (best is null || score > bestScore || (score == bestScore && string.CompareOrdinal(member, best) < 0))
            {
                best = member;
                bestScore = score;
            }
        }

        return best;
    }
}

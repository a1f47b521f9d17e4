using System;
using System.Collections.Generic;

namespace ConnectionsMonitor.GeoDataBuilder
{
    /// <summary>
    /// The binary trie over 128-bit addresses that becomes the MaxMind DB search tree. Each node holds
    /// two records (bit 0 and bit 1): a positive record is a node index, <see cref="Empty"/> means "no
    /// data", a negative record is a data id (see <see cref="DataRecord"/>). Node indices start at 1,
    /// the root.
    /// </summary>
    internal sealed class SearchTree
    {
        /// <summary>The record of addresses that have no data.</summary>
        public const int Empty = 0;

        /// <summary>The root's node index.</summary>
        public const int Root = 1;

        private int[] _left;
        private int[] _right;
        private int _lastNode;

        public SearchTree()
        {
            _left = new int[1024];
            _right = new int[1024];
            NewNode(Empty, Empty);
        }

        private SearchTree(SearchTree source)
        {
            _left = (int[])source._left.Clone();
            _right = (int[])source._right.Clone();
            _lastNode = source._lastNode;
        }

        /// <summary>The record that stands for data id <paramref name="dataId"/>.</summary>
        public static int DataRecord(int dataId) => -(dataId + 1);

        /// <summary>The data id a negative record stands for.</summary>
        public static int DataId(int record) => -record - 1;

        /// <summary>A copy that can be finalized for writing while this tree keeps taking inserts.</summary>
        public SearchTree Clone() => new SearchTree(this);

        public int Left(int node) => _left[node];

        public int Right(int node) => _right[node];

        /// <summary>
        /// Points every address of <paramref name="network"/>/<paramref name="prefixLength"/> at
        /// <paramref name="record"/>. Whatever the network held before, including more specific
        /// networks inside it, is replaced; a larger network it falls inside is split so the rest of
        /// that network keeps its old record.
        /// </summary>
        public void Insert(UInt128 network, int prefixLength, int record)
        {
            if (prefixLength == 0)
            {
                _left[Root] = record;
                _right[Root] = record;
                return;
            }
            int node = Root;
            for (int depth = 0; depth < prefixLength - 1; depth++)
                node = DescendSplitting(node, Bit(network, depth));
            SetChild(node, Bit(network, prefixLength - 1), record);
        }

        /// <summary>
        /// The record that answers for the whole of <paramref name="network"/>/<paramref name="prefixLength"/>
        /// (prefix at least 1): the node at that depth, or the data or empty record of a larger network
        /// that covers it.
        /// </summary>
        public int RecordAt(UInt128 network, int prefixLength)
        {
            int node = Root;
            for (int depth = 0; ; depth++)
            {
                int child = Child(node, Bit(network, depth));
                if (depth == prefixLength - 1 || child <= 0) return child;
                node = child;
            }
        }

        /// <summary>
        /// Makes <paramref name="alias"/>/<paramref name="prefixLength"/> answer exactly like the subtree
        /// or record <paramref name="target"/>, by pointing the alias's record at it (the tree becomes a
        /// graph; readers only walk it). Call after <see cref="Collapse"/>.
        /// </summary>
        public void Alias(UInt128 alias, int prefixLength, int target)
        {
            int node = Root;
            for (int depth = 0; depth < prefixLength - 1; depth++)
            {
                int bit = Bit(alias, depth);
                int child = Child(node, bit);
                if (child == target) return; // a larger network already answers like the target
                node = DescendSplitting(node, bit);
            }
            SetChild(node, Bit(alias, prefixLength - 1), target);
        }

        /// <summary>
        /// Replaces every node whose two records are the same data (or both empty) with that record,
        /// bottom-up. Lookups answer the same; the network a reader reports can be larger than the one
        /// inserted, as it would be had the merged network been inserted.
        /// </summary>
        public void Collapse()
        {
            _left[Root] = Collapse(_left[Root]);
            _right[Root] = Collapse(_right[Root]);
        }

        /// <summary>
        /// The nodes reachable from the root in breadth-first order (index 0 is the root), and for each
        /// node index its position in that order (-1 if unreachable). This order is the node numbering
        /// written to the file.
        /// </summary>
        public (List<int> Order, int[] NumberOf) Number()
        {
            var numberOf = new int[_lastNode + 1];
            Array.Fill(numberOf, -1);
            var order = new List<int> { Root };
            numberOf[Root] = 0;
            for (int i = 0; i < order.Count; i++)
            {
                foreach (int child in new[] { _left[order[i]], _right[order[i]] })
                {
                    if (child > 0 && numberOf[child] < 0)
                    {
                        numberOf[child] = order.Count;
                        order.Add(child);
                    }
                }
            }
            return (order, numberOf);
        }

        private int Collapse(int record)
        {
            if (record <= 0) return record;
            int left = Collapse(_left[record]);
            int right = Collapse(_right[record]);
            _left[record] = left;
            _right[record] = right;
            return left <= 0 && left == right ? left : record;
        }

        /// <summary>The child node on <paramref name="bit"/>'s side, first splitting a leaf record into a node whose both halves keep it.</summary>
        private int DescendSplitting(int node, int bit)
        {
            int child = Child(node, bit);
            if (child > 0) return child;
            int split = NewNode(child, child);
            SetChild(node, bit, split);
            return split;
        }

        private int Child(int node, int bit) => bit == 0 ? _left[node] : _right[node];

        private void SetChild(int node, int bit, int record)
        {
            if (bit == 0) _left[node] = record;
            else _right[node] = record;
        }

        private int NewNode(int left, int right)
        {
            if (_lastNode + 1 == _left.Length)
            {
                if (_left.Length >= int.MaxValue / 2) throw new InvalidOperationException("The search tree outgrew 1 billion nodes.");
                Array.Resize(ref _left, _left.Length * 2);
                Array.Resize(ref _right, _right.Length * 2);
            }
            _lastNode++;
            _left[_lastNode] = left;
            _right[_lastNode] = right;
            return _lastNode;
        }

        private static int Bit(UInt128 address, int depth) => (int)(address >> (127 - depth)) & 1;
    }
}

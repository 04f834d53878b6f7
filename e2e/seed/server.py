"""The tutorial's TCP chat server, as written there, but with its address from the command line
(default: all interfaces, port 7777) and a line saying when it listens: print what a client
sends, answer with what the user types, `exit` ends the conversation."""
import socket
import sys


def main():
    host = sys.argv[1] if len(sys.argv) > 1 else ''
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 7777
    tcp_server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp_server_socket.bind((host, port))
    tcp_server_socket.listen(128)
    print('listening on {}'.format(tcp_server_socket.getsockname()[1]), flush=True)

    while True:
        new_client_socket, client_addr = tcp_server_socket.accept()
        print('当前客户端是: %s' % str(client_addr))

        while True:
            recv_data = new_client_socket.recv(1024).decode('utf-8')
            print('当前客户端地址:{},当前接受的信息是:{}'.format(client_addr[0], recv_data))
            if not recv_data:  # the tutorial loops here forever once the client has gone
                break

            send_data = input('请输入你要发送的数据:')
            new_client_socket.send(send_data.encode('utf-8'))
            if send_data == 'exit':
                break

        new_client_socket.close()
        print('服务完毕...')


if __name__ == '__main__':
    main()

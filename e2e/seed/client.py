"""The tutorial's TCP chat client, as written there, but with the server's address from the
command line (default 127.0.0.1 7777): send what the user types, print the reply, `exit` ends."""
import socket
import sys


def main():
    host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 7777
    tcp_client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp_client_socket.connect((host, port))

    while True:
        send_data = input('请输入你要发送的数据:')
        tcp_client_socket.send(send_data.encode('utf-8'))
        if send_data == 'exit':
            break

        recv_data = tcp_client_socket.recv(1024).decode('utf-8')
        print('当前接受的信息是:{}'.format(recv_data))

    tcp_client_socket.close()


if __name__ == '__main__':
    main()
